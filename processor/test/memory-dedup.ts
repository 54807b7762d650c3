// For pure units only: the dedup contract (the first record to claim an id keeps it) in memory.
// The Redis implementation is exercised by the integration tests.

import type { Dedup } from '../src/dedup.ts';

export function memoryDedup(): Dedup {
  const claimed = new Map<string, bigint>();
  return {
    claim: async (stream, partition, _horizonMs, claims) =>
      claims.map(({ tenant, id, time, offset }) => {
        const key = `${stream}|${partition}|${tenant}|${Math.floor(time / 3_600_000)}|${id}`;
        const prev = claimed.get(key);
        if (prev === undefined) claimed.set(key, offset);
        return prev === undefined || prev === offset;
      }),
  };
}
