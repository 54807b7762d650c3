// The declared streams. Adding a stream is adding its file and one line here.

import { equipmentMetrics, inventoryUpdates, salesEvents } from './bakery.ts';
import type { StreamDefinition } from './define.ts';
import { ecommerce } from './ecommerce.ts';
import { webhooks } from './webhooks.ts';

export const STREAMS: readonly StreamDefinition[] = [
  ecommerce,
  salesEvents,
  equipmentMetrics,
  inventoryUpdates,
  webhooks,
];

export type StreamRegistry = ReadonlyMap<string, StreamDefinition>;

export function streamRegistry(streams: readonly StreamDefinition[] = STREAMS): StreamRegistry {
  return new Map(streams.map((s) => [s.name, s]));
}

/**
 * The streams a service handles: `names` (comma-separated, empty for all) picked from `streams`.
 * An unknown name is an error, so a typo fails at start rather than consuming nothing.
 */
export function selectStreams(
  streams: readonly StreamDefinition[],
  names: readonly string[],
): { ok: true; value: StreamDefinition[] } | { ok: false; unknown: string[] } {
  if (names.length === 0) return { ok: true, value: [...streams] };
  const known = new Map(streams.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) return { ok: false, unknown };
  return { ok: true, value: names.flatMap((n) => known.get(n) ?? []) };
}

/** Topic names carry an optional prefix so test runs and tenants of a shared cluster stay apart. */
export interface TopicNames {
  readonly events: string;
  readonly dlq: string;
  readonly late: string;
}

export function topicNames(stream: string, prefix = ''): TopicNames {
  return { events: `${prefix}${stream}`, dlq: `${prefix}${stream}.dlq`, late: `${prefix}${stream}.late` };
}
