// Stage 5 of a batch, and where state commits: the one place that makes a plan durable, in the one
// order the guarantees need.
//   1. Dead letters and late events are acknowledged by Kafka (guarantee 4: nothing is lost: a
//      record's offset is never passed before its dead letter is durable).
//   2. The working state and the offset it reflects move together in Redis (one script), under
//      this worker's epoch and from the position it read: a zombie or a wiped state is fenced.
//   3. The rows, with absolute values, and the same offset in PostgreSQL (one transaction): a crash
//      between 2 and 3 leaves the commit in Redis's `last`, which the next owner writes to
//      PostgreSQL before anything else (takeover.ts).
//   4. Only then the partition's held state moves (apply), cached answers holding an amendment go
//      stale (guarantee 3) and the live feed hears of the rows: never before they are durable.
// A fence is a result, not a throw; a store's failure throws (failure-kind.ts says whether it is
// the data's or an outage). Metrics and spans are a decorator around this (instrumented.ts).

import type { KafkaProducer } from '@sluice/shared/kafka/port';
import { storeState } from '@sluice/shared/streams/aggregate';
import type { StoreHealth } from '../health/store-health.ts';
import type { CacheInvalidator } from '../notify/cache-invalidation.ts';
import type { LiveFeed } from '../notify/live-feed.ts';
import type { PartitionState } from '../partition-state.ts';
import { windowId } from '../partition-state.ts';
import type { BatchPlan } from '../stages/plan.ts';
import type { WindowSink } from '../stores/postgres-rows.ts';
import type { StateStore } from '../stores/redis-state.ts';

export type CommitResult =
  | { readonly kind: 'committed' }
  /** Another worker owns the partition now (or Redis lost its state): nothing of the plan applied. */
  | { readonly kind: 'fenced'; readonly store: 'redis' | 'postgres' };

/** Makes `plan` durable for `state`'s partition; `traceId` names the batch's trace on each row. */
export type CommitPlan = (state: PartitionState, plan: BatchPlan, traceId?: string) => Promise<CommitResult>;

export interface CommitDeps {
  readonly producer: KafkaProducer;
  readonly store: StateStore;
  readonly sink: WindowSink;
  readonly invalidator: CacheInvalidator;
  /** Committed window updates for the query service's live endpoint; absent, none are published. */
  readonly live?: LiveFeed;
  readonly health: StoreHealth;
  readonly group: string;
}

export function commitProtocol(deps: CommitDeps): CommitPlan {
  return async (state, plan, traceId) => {
    if (plan.outbound.length > 0) {
      const sent = await deps.producer.send(plan.outbound);
      // A dead letter or late event that Kafka did not take must not be skipped: retry the batch.
      if (!sent.ok) throw new Error(`could not produce dead letters / late events: ${sent.error.message}`);
    }
    // Accumulators in their stored form once, for both stores.
    const rows = plan.rows.map((row) => ({ ...row, state: storeState(row.state) }));
    const kept = await deps.store.commit(
      { group: deps.group, stream: state.stream.name, partition: state.partition },
      {
        epoch: state.epoch,
        from: { offset: state.nextOffset, watermark: state.watermark },
        to: { offset: plan.offset.next, watermark: plan.offset.watermark },
        maxEventTime: plan.maxEventTime,
        rows,
        removed: plan.removed,
        traceId,
      },
    );
    if (!kept.ok) return { kind: 'fenced', store: 'redis' };
    const written = await deps.sink.commit(rows, plan.offset, { removed: plan.removed, traceId });
    if (!written.ok) return { kind: 'fenced', store: 'postgres' };
    applyPlan(state, plan);
    deps.health.committed();
    // Guarantee 3: the amendment is durable; now (never before) cached answers holding it go stale.
    if (plan.stale.length > 0) {
      deps.invalidator.amended(plan.stale);
      void deps.invalidator.flush();
    }
    // After the commit, never before: the feed shows only what PostgreSQL holds.
    void deps.live?.publish(plan.rows, plan.removed, traceId);
    return { kind: 'committed' };
  };
}

/**
 * After the plan is durable: the partition state catches up, windows read for the batch are held
 * (a cache of what PostgreSQL has), settled windows leave memory.
 */
export function applyPlan(state: PartitionState, plan: BatchPlan): void {
  for (const [id, w] of plan.loaded) if (!state.windows.has(id)) state.windows.set(id, w);
  for (const w of plan.removed) state.windows.delete(windowId(w.tenant, w.window, w.start, w.key));
  for (const w of plan.updated) {
    const id = windowId(w.tenant, w.window, w.start, w.key);
    if (w.status === 'provisional') state.windows.set(id, w);
    else state.windows.delete(id);
  }
  state.nextOffset = plan.offset.next;
  state.watermark = plan.offset.watermark;
  state.maxEventTime = plan.maxEventTime;
}
