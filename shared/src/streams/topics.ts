// The Kafka topics a stream owns: its events (keyed, N partitions), `<stream>.dlq` for records
// that failed in the processor and `<stream>.late` for events past allowed lateness.

import type { TopicSpec } from '../kafka/port.ts';
import type { StreamDefinition } from './define.ts';
import { topicNames } from './registry.ts';

export function streamTopicSpecs(streams: readonly StreamDefinition[], prefix: string): TopicSpec[] {
  return streams.flatMap((stream) => {
    const names = topicNames(stream.name, prefix);
    const retention = { 'retention.ms': String(stream.retentionMs) };
    return [
      { topic: names.events, partitions: stream.partitions, configs: retention },
      { topic: names.dlq, partitions: 1, configs: retention },
      { topic: names.late, partitions: 1, configs: retention },
    ];
  });
}
