// Stage 4 of a batch: what it writes, planned from the loaded state and the records' outcomes. Pure
// (no I/O, and the partition's state is not changed): each counted event goes to its window
// operator (windows/tumbling-operator.ts, windows/session-operator.ts), dead letters and late
// events become records to send, the watermark settles what it passed, and the plan says the rows,
// removals, offset and cache staleness the commit makes durable (commit/commit-protocol.ts).

import type { IncomingRecord, OutgoingRecord } from '@sluice/shared/kafka/port';
import { valuesOf } from '@sluice/shared/streams/aggregate';
import type { TopicNames } from '@sluice/shared/streams/registry';
import type { OpenWindow, PartitionState } from '../partition-state.ts';
import type { OffsetWrite, WindowRef, WindowRowWrite } from '../stores/postgres-rows.ts';
import type { BatchWindows, WindowOperator } from '../windows/operator.ts';
import { batchWindows } from '../windows/operator.ts';
import { sessionOperator } from '../windows/session-operator.ts';
import { tumblingOperator } from '../windows/tumbling-operator.ts';
import { idleWatermark, settle } from '../windows/watermark.ts';
import type { Loaded } from './load.ts';
import { deadLetter, lateRecord } from './outbound.ts';
import type { Placement } from './place.ts';

const CONTRIBUTORS_PER_WINDOW = 8;

export interface PlanContext {
  readonly group: string;
  readonly topics: TopicNames;
  readonly now: number;
}

export interface BatchCounts {
  processed: number;
  dlq: number;
  late: number;
  skipped: number;
  settled: number;
  amended: number;
  duplicates: number;
  rejected: number;
}

export interface BatchPlan {
  readonly rows: WindowRowWrite[];
  /** Session rows merged into another session: deleted in the transaction that writes `rows`. */
  readonly removed: WindowRef[];
  /** Dead letters and late events: acknowledged by Kafka before the plan commits. */
  readonly outbound: OutgoingRecord[];
  readonly offset: OffsetWrite;
  readonly updated: OpenWindow[];
  /** Windows read from PostgreSQL for this batch: held once the plan is durable (a cache). */
  readonly loaded: ReadonlyMap<string, OpenWindow>;
  /**
   * Per window id, a few of the traced records that changed it in this batch (their headers), for
   * the `emit window` spans' links. Bounded: CONTRIBUTORS_PER_WINDOW distinct traceparents.
   */
  readonly contributors: ReadonlyMap<string, readonly Readonly<Record<string, string>>[]>;
  /** Windows this plan changes after they were emitted (status `amended`). */
  readonly amended: OpenWindow[];
  /** Windows whose cached answers this plan makes stale, once it is durable (see staleWindows). */
  readonly stale: OpenWindow[];
  readonly maxEventTime: number | null;
  readonly counts: BatchCounts;
}

export function planBatch(
  state: PartitionState,
  placement: Placement,
  loaded: Loaded,
  ctx: PlanContext,
  skipped = 0,
): BatchPlan {
  const stream = state.stream;
  const counts: BatchCounts = {
    processed: 0,
    dlq: 0,
    late: 0,
    skipped,
    settled: 0,
    amended: 0,
    duplicates: 0,
    rejected: 0,
  };
  const outbound: OutgoingRecord[] = [];
  for (const { record, outcome } of placement.dead) {
    if (outcome.kind !== 'dlq') continue;
    outbound.push(deadLetter(record, ctx.topics.dlq, outcome.step, outcome.reason, ctx.now));
    counts.dlq += 1;
  }

  const windows = batchWindows(state, loaded.windows);
  // One operator per window kind; every spec of a kind shares it (its state is the batch's).
  const tumbling = tumblingOperator(windows, stream);
  const sessions = stream.windows.some((s) => s.kind === 'session')
    ? sessionOperator(windows, stream)
    : undefined;
  const operators: WindowOperator[] = stream.windows.map((spec) =>
    spec.kind === 'session' && sessions !== undefined ? sessions : tumbling,
  );

  // Guarantee 2: a copy of an id already claimed by another record (a client or producer retry)
  // counts nothing.
  const duplicates = new Set(placement.claiming.filter((_, index) => loaded.firsts[index] !== true));
  const contributors = new Map<string, Readonly<Record<string, string>>[]>();
  const note = (id: string, record: IncomingRecord) => {
    const traceparent = record.headers.traceparent;
    if (traceparent === undefined) return;
    const list = contributors.get(id) ?? [];
    if (list.length >= CONTRIBUTORS_PER_WINDOW || list.some((h) => h.traceparent === traceparent)) return;
    list.push(record.headers);
    contributors.set(id, list);
  };
  const decided = placement.decided;
  for (let i = 0; i < decided.length; i++) {
    const d = decided[i];
    if (d === undefined) continue;
    if (duplicates.has(d)) {
      counts.duplicates += 1;
      continue;
    }
    const { event, brokenRule } = d;
    for (let j = 0; j < d.targets.length; j++) {
      const target = d.targets[j];
      if (target === undefined) continue;
      const operator = operators[target.slot];
      if (operator !== undefined) note(operator.add(event, target, brokenRule), d.record);
    }
    if (brokenRule !== undefined) {
      // Guarantee 4: nothing is lost; the rejected event itself is kept in the DLQ with its rule.
      const reason = `breaks rule ${brokenRule}`;
      outbound.push(deadLetter(d.record, ctx.topics.dlq, 'quality', reason, ctx.now));
      counts.rejected += 1;
    } else if (d.lateFor.length > 0) {
      outbound.push(lateRecord(d.record, ctx.topics.late, d.lateFor, placement.watermark, ctx.now));
      counts.late += 1;
    }
    counts.processed += 1;
  }

  const watermark = placement.watermark;
  tumbling.finish(watermark);
  sessions?.finish(watermark);
  counts.settled = settle(state, windows.working, watermark, loaded.windows, windows.removed);
  counts.amended = windows.amended.size;
  const { working, amended, removed } = windows;
  return {
    rows: [...working.values()].map((w) => toRow(w, state.partition, stream.aggregations)),
    removed: [...removed.values()].map((w) => ({
      tenant: w.tenant,
      stream: w.stream,
      window: w.window,
      start: w.start,
      key: w.key,
    })),
    outbound,
    offset: offsetWrite(state, ctx, placement.next, watermark),
    updated: [...working.values()],
    loaded: loaded.windows,
    contributors,
    amended: [...amended].flatMap((id) => {
      const w = working.get(id);
      return w === undefined ? [] : [w];
    }),
    stale: staleWindows(windows),
    maxEventTime: placement.maxEventTime,
    counts,
  };
}

/**
 * Guarantee 3, cache side: the windows whose change can make a cached complete answer wrong.
 * Amended windows and removed sessions, and any window new to a start the committed watermark had
 * passed (an answer over that range may have been complete, and cached, without it).
 */
function staleWindows({ state, working, amended, created, removed }: BatchWindows): OpenWindow[] {
  const committed = state.watermark;
  const stale = [...removed.values()];
  for (const [id, w] of working) {
    if (amended.has(id) || (created.has(id) && committed !== null && w.start < committed)) stale.push(w);
  }
  return stale;
}

/**
 * Guarantee 7: a partition with no records for `idleMs` moves its watermark by wall clock, so its
 * last windows settle. Returns null when nothing changes.
 */
export function planIdleAdvance(state: PartitionState, ctx: PlanContext, idleMs: number): BatchPlan | null {
  const candidate = idleWatermark(state, ctx.now, idleMs);
  if (candidate === null || state.nextOffset === null) return null;
  const working = new Map<string, OpenWindow>();
  const settled = settle(state, working, candidate);
  if (settled === 0 && state.watermark !== null) return null;
  return {
    rows: [...working.values()].map((w) => toRow(w, state.partition, state.stream.aggregations)),
    removed: [],
    outbound: [],
    offset: offsetWrite(state, ctx, state.nextOffset, candidate),
    updated: [...working.values()],
    loaded: new Map(),
    contributors: new Map(),
    amended: [],
    stale: [],
    maxEventTime: state.maxEventTime,
    counts: { processed: 0, dlq: 0, late: 0, skipped: 0, settled, amended: 0, duplicates: 0, rejected: 0 },
  };
}

/**
 * The position a plan moves the partition to, fenced (guarantee 2): from the offset this worker
 * read, under the epoch it claimed the partition with.
 */
function offsetWrite(
  state: PartitionState,
  ctx: PlanContext,
  next: bigint,
  watermark: number | null,
): OffsetWrite {
  return {
    group: ctx.group,
    topic: state.topic,
    partition: state.partition,
    expected: state.nextOffset,
    epoch: state.epoch,
    next,
    watermark,
  };
}

function toRow(
  w: OpenWindow,
  partition: number,
  aggs: PartitionState['stream']['aggregations'],
): WindowRowWrite {
  return {
    tenant: w.tenant,
    stream: w.stream,
    window: w.window,
    start: w.start,
    end: w.end,
    key: w.key,
    values: valuesOf(w.state, aggs),
    state: w.state,
    status: w.status,
    version: w.version,
    partition,
  };
}
