// For pure units only: the dedup contract (the first record to claim an id keeps it) in memory.
// The Redis implementation is exercised by the integration tests.

import type { Dedup } from '../src/dedup.ts';

export function memoryDedup(): Dedup {
  const claimed = new Map<string, string>();
  return {
    claim: async (stream, _horizonMs, claims) =>
      claims.map(({ tenant, id, coordinates }) => {
        const key = `${stream}|${tenant}|${id}`;
        const prev = claimed.get(key);
        if (prev === undefined) claimed.set(key, coordinates);
        return prev === undefined || prev === coordinates;
      }),
  };
}
