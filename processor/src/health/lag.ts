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

/** One owned partition as `./sluice status` shows it (the worker's /status). */
export interface OwnedPartitionStatus {
  readonly topic: string;
  readonly partition: number;
  /** Records behind the end the client last saw; null before the first fetch. */
  readonly lag: number | null;
  /** Seconds between now and the partition's watermark; null before its first event. */
  readonly watermarkLagSeconds: number | null;
}

/**
 * The partitions assigned to this worker, each with its lag: assigned ones whose state is still
 * loading show a null lag rather than disappearing, so a status never hides an owned partition.
 */
export function ownedStatus(
  assigned: readonly { readonly topic: string; readonly partition: number }[],
  stateOf: (topic: string, partition: number) => PartitionState | undefined,
  deps: Omit<LagDeps, 'metrics'>,
): OwnedPartitionStatus[] {
  return assigned
    .map(({ topic, partition }) => {
      const state = stateOf(topic, partition);
      const end = deps.consumer.highWatermark(topic, partition);
      const next = state?.nextOffset ?? null;
      return {
        topic,
        partition,
        // An empty partition (end 0) is caught up before its first record: lag 0, not unknown.
        lag:
          end === undefined
            ? null
            : next === null
              ? end === 0n
                ? 0
                : null
              : end > next
                ? Number(end - next)
                : 0,
        watermarkLagSeconds:
          state?.watermark === null || state?.watermark === undefined
            ? null
            : (deps.now() - state.watermark) / 1000,
      };
    })
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
