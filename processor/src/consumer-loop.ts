// The processor's consumer loop: it keeps the partitions this worker owns, a lock per partition
// (so batches and the idle tick of one partition run in order) and the ticks; each batch goes
// through the stages in order (processor/README.md):
//   decode (stages/decode.ts) -> place (stages/place.ts) -> load (stages/load.ts)
//   -> plan (stages/plan.ts) -> commit (commit/commit-protocol.ts)
// and only then are Kafka offsets committed, informational (STYLE #8). A batch a store refuses for
// its data is split until the refused records are found and dead-lettered (commit/isolate.ts); one
// stopped by an outage waits and is retried. A partition is taken over on assignment
// (commit/takeover.ts).

import type { Span } from '@opentelemetry/api';
import type {
  CommitOffset,
  IncomingRecord,
  KafkaConsumer,
  KafkaProducer,
  RecordBatch,
  TopicPartition,
} from '@sluice/shared/kafka/port';
import type { Logger } from '@sluice/shared/log';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { topicNames } from '@sluice/shared/streams/registry';
import { commitProtocol } from './commit/commit-protocol.ts';
import { dataFailureOf, outageOf } from './commit/failure-kind.ts';
import {
  inBatchSpan,
  instrumentedCommit,
  isolationReporter,
  tracedRowStore,
  tracedStateStore,
} from './commit/instrumented.ts';
import type { Isolated } from './commit/isolate.ts';
import { dedupWithSteps, isolateRecords, sinkWithSteps, storeWithSteps } from './commit/isolate.ts';
import { resumePartition } from './commit/takeover.ts';
import type { OwnedPartitionStatus } from './health/lag.ts';
import { ownedStatus, reportLag } from './health/lag.ts';
import type { ProcessorMetrics } from './health/metrics.ts';
import type { PartitionHealthReporter } from './health/partition-health.ts';
import type { StoreHealth } from './health/store-health.ts';
import type { CacheInvalidator } from './notify/cache-invalidation.ts';
import type { LiveFeed } from './notify/live-feed.ts';
import type { PartitionState } from './partition-state.ts';
import { decodeBatch } from './stages/decode.ts';
import { loadBatch, loadRequests } from './stages/load.ts';
import { placeEvents } from './stages/place.ts';
import type { BatchPlan, PlanContext } from './stages/plan.ts';
import { planBatch, planIdleAdvance } from './stages/plan.ts';
import type { Dedup } from './stores/dedup-claims.ts';
import type { WindowSink } from './stores/postgres-rows.ts';
import type { StateStore } from './stores/redis-state.ts';
import { nothingToRead } from './windows/watermark.ts';

export interface ProcessorDeps {
  readonly consumer: KafkaConsumer;
  readonly producer: KafkaProducer;
  readonly sink: WindowSink;
  /** The working window state and the offset it reflects (Redis). */
  readonly store: StateStore;
  readonly invalidator: CacheInvalidator;
  /** Committed window updates for the query service's live endpoint; absent, none are published. */
  readonly live?: LiveFeed;
  readonly dedup: Dedup;
  readonly log: Logger;
  readonly metrics: ProcessorMetrics;
  readonly group: string;
  readonly topicPrefix: string;
  /** Streams by their events topic. */
  readonly streamsByTopic: ReadonlyMap<string, StreamDefinition>;
  readonly idleTimeoutMs: number;
  readonly tickMs: number;
  readonly retryDelayMs: number;
  readonly now: () => number;
  /** Told of store outages and of commits that land: readiness, metrics, one log line per stall. */
  readonly health: StoreHealth;
  /** Each owned partition's offsets, rates and outcome counts for the dashboard; absent, none. */
  readonly partitionHealth?: PartitionHealthReporter;
}

export interface Processor {
  start(): Promise<void>;
  /** Stops intake, lets in-flight batches finish and commit, leaves the group; idempotent. */
  stop(): Promise<void>;
  /** The partitions this worker owns now, with their lag (the worker's /status). */
  owned(): OwnedPartitionStatus[];
}

const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

export function createProcessor(given: ProcessorDeps): Processor {
  // Every store call's failure says which step failed and whether it is the data's or an outage.
  const deps: ProcessorDeps = {
    ...given,
    sink: sinkWithSteps(given.sink),
    store: storeWithSteps(given.store),
    dedup: dedupWithSteps(given.dedup),
  };
  const partitions = new Map<string, PartitionState>();
  const pendingCommits = new Map<string, CommitOffset>();
  const flushCommits = async () => {
    if (pendingCommits.size === 0) return;
    const offsets = [...pendingCommits.values()];
    pendingCommits.clear();
    await deps.consumer
      .commit(offsets)
      .catch((error: unknown) =>
        deps.log.warn({ err: error }, 'kafka offset commit failed (PostgreSQL holds the offsets)'),
      );
  };
  const locks = new Map<string, Promise<void>>();
  let tick: ReturnType<typeof setInterval> | undefined;
  let stopping: Promise<void> | undefined;

  const withLock = (key: string, work: () => Promise<void>): Promise<void> => {
    const run = (locks.get(key) ?? Promise.resolve()).then(work);
    locks.set(
      key,
      run.catch(() => {}),
    );
    return run;
  };

  const stateOf = async (topic: string, partition: number): Promise<PartitionState | undefined> => {
    const key = tpKey(topic, partition);
    const existing = partitions.get(key);
    if (existing !== undefined) return existing;
    const stream = deps.streamsByTopic.get(topic);
    if (stream === undefined) return undefined;
    const state: PartitionState = {
      topic,
      partition,
      stream,
      epoch: 0,
      nextOffset: null,
      maxEventTime: null,
      watermark: null,
      lastActivity: deps.now(),
      windows: new Map(),
    };
    const source = await resumePartition(state, {
      ...deps,
      onRefusedLast: () =>
        deps.log.warn(
          { topic, partition },
          "redis's last commit is refused by PostgreSQL for its data: state rebuilt from PostgreSQL",
        ),
    });
    deps.metrics.stateLoads.inc({ source });
    partitions.set(key, state);
    return state;
  };

  // The commit protocol, its stores traced and its outcomes counted (commit/instrumented.ts).
  const commitPlan = instrumentedCommit(
    commitProtocol({
      ...deps,
      store: tracedStateStore(deps.store),
      sink: tracedRowStore(deps.sink, deps.metrics),
    }),
    deps,
  );
  /** Commits `plan`; on a fence, forgets the partition (reloaded from the stores if still owned). */
  const commit = async (state: PartitionState, plan: BatchPlan, traceId?: string): Promise<boolean> => {
    const result = await commitPlan(state, plan, traceId);
    if (result.kind === 'committed') return true;
    // Another worker owns this partition now, or Redis lost its state: forget it; if it is still
    // (or again) this worker's, it reloads from where the stores stand.
    partitions.delete(tpKey(state.topic, state.partition));
    return false;
  };

  const planContext = (state: PartitionState): PlanContext => ({
    group: deps.group,
    topics: topicNames(state.stream.name, deps.topicPrefix),
    now: deps.now(),
  });

  // One CONSUMER span per batch (commit/instrumented.ts), under the partition's lock.
  const onBatch = (batch: RecordBatch): Promise<void> =>
    withLock(tpKey(batch.topic, batch.partition), () =>
      inBatchSpan(batch, (span) => processBatch(batch, span)),
    );

  /** Plans and commits records of one partition (a batch, or a slice of one being isolated). */
  const commitRecords = async (
    topic: string,
    partition: number,
    records: readonly IncomingRecord[],
    span: Span,
    isolated?: ReadonlyMap<bigint, Isolated>,
  ): Promise<void> => {
    const state = await stateOf(topic, partition);
    if (state === undefined) return;
    state.lastActivity = deps.now();
    // The stages, in order: each one's output is the next one's input.
    const decoded = decodeBatch(state, records, isolated);
    if (decoded === null) return;
    const placement = placeEvents(state, decoded);
    const loaded = await loadBatch(state, loadRequests(state, placement), deps);
    const plan = planBatch(state, placement, loaded, planContext(state), decoded.skipped);
    span.setAttribute('sluice.windows.written', plan.rows.length);
    // The rows this batch writes name its trace (when sampled), so a number links to Jaeger.
    const traceId = span.isRecording() ? span.spanContext().traceId : undefined;
    // Fenced while still assigned means this worker's view was stale (it loaded before the last
    // owner's final commit): the batch must run again on fresh state, not be dropped.
    if (!(await commit(state, plan, traceId)))
      throw new Error('commit fenced; reloading the partition and retrying the batch');
    // The positions that count are in Redis and PostgreSQL; the Kafka commit (for lag metrics
    // and tools) is sent by the tick, batched and never awaited here: the client defers commits
    // during a rebalance, and a batch must not wait on the rebalance that waits on it.
    if (state.nextOffset !== null) {
      pendingCommits.set(tpKey(state.topic, state.partition), {
        topic: state.topic,
        partition: state.partition,
        offset: state.nextOffset,
      });
    }
  };

  const processBatch = async (batch: RecordBatch, span: Span): Promise<void> => {
    const key = tpKey(batch.topic, batch.partition);
    try {
      try {
        await commitRecords(batch.topic, batch.partition, batch.records, span);
      } catch (error) {
        const refused = dataFailureOf(error);
        if (refused === undefined) throw error;
        // Guarantee 4: a failure of the data is not retried as is (it would fail for ever, and
        // stop the partition): the records that cause it go to the DLQ, the others commit.
        await isolateRecords(batch.records, refused, {
          attempt: (records, isolated) =>
            commitRecords(batch.topic, batch.partition, records, span, isolated),
          reset: () => partitions.delete(key),
          onIsolated: (record, failure) => isolatedRecord(batch.topic, record, failure),
        });
      }
    } catch (error) {
      // Nothing of this batch is applied; the consumer delivers it again after a pause.
      partitions.delete(key);
      const outage = outageOf(error);
      // One log line per stall, not one per retried batch (store-health.ts).
      if (outage !== undefined) deps.health.refused(outage);
      else
        deps.log.error(
          { err: error, topic: batch.topic, partition: batch.partition },
          'batch failed; retrying',
        );
      await new Promise((resolve) => setTimeout(resolve, deps.retryDelayMs));
      throw error;
    }
  };

  const isolatedRecord = isolationReporter(deps);

  // NOTE: a rebalance callback must not wait for in-flight batches (they may wait on the consumer,
  // which waits on this callback). Forgetting the partition is enough: a batch still in flight
  // commits only if its compare-and-set on the offset still holds, else it is fenced.
  const onRevoked = (revoked: readonly TopicPartition[]) => {
    for (const { topic, partition } of revoked) {
      partitions.delete(tpKey(topic, partition));
      deps.metrics.consumerLag.remove({ topic, partition: String(partition) });
      deps.metrics.watermarkLag.remove({ topic, partition: String(partition) });
      deps.partitionHealth?.forget(topic, partition);
    }
    deps.metrics.assigned.dec(revoked.length);
  };
  const load = (topic: string, partition: number, onlyIfOwned: boolean) => {
    void withLock(tpKey(topic, partition), async () => {
      const owned = deps.consumer.assignment().some((tp) => tp.topic === topic && tp.partition === partition);
      if (owned || !onlyIfOwned) await stateOf(topic, partition);
    }).catch((error: unknown) =>
      deps.log.warn({ err: error, topic, partition }, 'loading a partition failed'),
    );
  };

  // Guarantee 7: a partition that moved here with open windows but no new records must still
  // settle them, so its state is loaded on assignment, not only on its next batch.
  const onAssigned = (assigned: readonly TopicPartition[]) => {
    deps.metrics.assigned.inc(assigned.length);
    // NOTE: the handler runs after the client applied the assignment; loading needs no check.
    for (const { topic, partition } of assigned) load(topic, partition, false);
  };

  const idleTick = () => {
    void flushCommits();
    void deps.invalidator.flush();
    reportLag(partitions.values(), deps);
    // At most once per interval, one statement for every owned partition (partition-health.ts).
    void deps.partitionHealth?.report(partitions.values(), (topic, partition) =>
      deps.consumer.highWatermark(topic, partition),
    );
    for (const state of partitions.values()) {
      void withLock(tpKey(state.topic, state.partition), async () => {
        if (partitions.get(tpKey(state.topic, state.partition)) !== state) return;
        // Guarantee 7 is for a partition with nothing to read (see nothingToRead).
        const end = deps.consumer.highWatermark(state.topic, state.partition);
        if (!nothingToRead(state, end, deps.now())) return;
        const plan = planIdleAdvance(state, planContext(state), deps.idleTimeoutMs);
        // Fenced while still assigned: reload. It is how a worker recovers its own half-done commit
        // (Redis ahead after PostgreSQL failed); a zombie that reloads on a stale assignment only
        // fences the owner until its rebalance, and the check above keeps it from moving the
        // watermark while records wait.
        if (plan !== null && !(await commit(state, plan))) load(state.topic, state.partition, true);
      }).catch((error: unknown) => {
        const outage = outageOf(error);
        if (outage !== undefined) deps.health.refused(outage);
        else deps.log.warn({ err: error }, 'idle watermark advance failed; will retry');
      });
    }
  };

  return {
    async start() {
      tick = setInterval(idleTick, deps.tickMs);
      await deps.consumer.run({ onBatch, onAssigned, onRevoked });
      deps.log.info({ group: deps.group, topics: [...deps.streamsByTopic.keys()] }, 'consuming');
    },
    stop() {
      stopping ??= (async () => {
        if (tick !== undefined) clearInterval(tick);
        // Kafka offsets are informational (Redis and PostgreSQL hold the positions): send what is
        // pending while the client is still connected, then stop intake and let in-flight batches
        // commit.
        await flushCommits();
        await deps.consumer.close();
        await Promise.allSettled([...locks.values()]);
        await deps.invalidator.flush();
        await deps.producer.close();
      })();
      return stopping;
    },
    owned() {
      return ownedStatus(deps.consumer.assignment(), (t, p) => partitions.get(tpKey(t, p)), deps);
    },
  };
}
