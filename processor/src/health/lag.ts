// Consumer lag and watermark lag per owned partition, refreshed on every tick from the client's
// cached end offsets (no broker call). The watermark lag is refreshed here, not only when a batch
// commits: a partition whose commits stopped (a store refusing writes, a stuck batch) shows a lag
// that keeps growing, which is what the "watermark stalled" alert (deploy/monitoring) reads,
// instead of the last commit's value.

import type { KafkaConsumer } from '@sluice/shared/kafka/port';
import type { PartitionState } from '../partition-state.ts';
import type { ProcessorMetrics } from './metrics.ts';

export interface LagDeps {
  readonly consumer: Pick<KafkaConsumer, 'highWatermark'>;
  readonly metrics: Pick<ProcessorMetrics, 'consumerLag' | 'watermarkLag'>;
  readonly now: () => number;
}

export function reportLag(partitions: Iterable<PartitionState>, deps: LagDeps): void {
  for (const state of partitions) {
    if (state.watermark !== null) {
      deps.metrics.watermarkLag.set(
        { topic: state.topic, partition: String(state.partition) },
        (deps.now() - state.watermark) / 1000,
      );
    }
    const end = deps.consumer.highWatermark(state.topic, state.partition);
    if (end === undefined || state.nextOffset === null) continue;
    const lag = end > state.nextOffset ? Number(end - state.nextOffset) : 0;
    deps.metrics.consumerLag.set({ topic: state.topic, partition: String(state.partition) }, lag);
  }
}
