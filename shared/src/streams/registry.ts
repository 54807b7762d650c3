// The declared streams. Adding a stream is adding its file and one line here.

import type { StreamDefinition } from './define.ts';
import { ecommerce } from './ecommerce.ts';

export const STREAMS: readonly StreamDefinition[] = [ecommerce];

export type StreamRegistry = ReadonlyMap<string, StreamDefinition>;

export function streamRegistry(streams: readonly StreamDefinition[] = STREAMS): StreamRegistry {
  return new Map(streams.map((s) => [s.name, s]));
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
