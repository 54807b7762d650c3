// Taking over a partition (guarantee 2): claim it in PostgreSQL (the next epoch, durable even if
// Redis is wiped), take its working state from Redis under that epoch, and decide where the state
// is right. Commits go to Redis first, then PostgreSQL, so the two stand at the same position, or
// Redis one commit ahead (a crash between them; `last` holds that commit), or Redis behind or empty
// (it lost writes or was wiped). Whatever the case, nothing is counted twice or lost.

import { withRevivedState } from '@sluice/shared/db/window-rows';
import { storeState } from '@sluice/shared/streams/aggregate';
import type { PartitionState } from '../partition-state.ts';
import { windowId } from '../partition-state.ts';
import type { WindowSink } from '../stores/postgres-rows.ts';
import type { PartitionRef, Position, StateStore } from '../stores/redis-state.ts';
import { classifyFailure } from './failure-kind.ts';

export type StateSource = 'redis' | 'postgres';

export interface ResumeDeps {
  readonly sink: WindowSink;
  readonly store: StateStore;
  readonly group: string;
  /** Told when Redis's last commit is one PostgreSQL refuses for its data (and so is dropped). */
  readonly onRefusedLast?: () => void;
}

/** A commit to PostgreSQL, or 'refused' when it fails for its data (failure-kind.ts). */
async function flushLast(sink: WindowSink, ...args: Parameters<WindowSink['commit']>) {
  try {
    return await sink.commit(...args);
  } catch (error) {
    if (classifyFailure(error, 'sink').kind === 'data') return 'refused' as const;
    throw error;
  }
}

export const samePosition = (a: Position, b: Position): boolean =>
  a.offset === b.offset && a.watermark === b.watermark;

export class TakeoverFenced extends Error {
  constructor() {
    super('a newer owner took the partition while this worker was taking it over');
  }
}

/** Claims the partition and loads its state; says whether Redis had it or PostgreSQL rebuilt it. */
export async function resumePartition(state: PartitionState, deps: ResumeDeps): Promise<StateSource> {
  const ref: PartitionRef = { group: deps.group, stream: state.stream.name, partition: state.partition };
  const claimed = await deps.sink.claimPartition(deps.group, state.topic, state.partition);
  const taken = await deps.store.take(ref, claimed.epoch);
  if (!taken.ok) throw new TakeoverFenced();
  const snapshot = taken.value;
  let durable: Position = { offset: claimed.nextOffset, watermark: claimed.watermark };

  // The last commit reached Redis but not PostgreSQL (a crash between the two): PostgreSQL takes it
  // now, before this owner writes anything, so no row is left behind the state that follows it.
  const last = snapshot?.last ?? null;
  if (last !== null && last.to.offset !== null && samePosition(durable, last.from)) {
    const flushed = await flushLast(
      deps.sink,
      last.rows.map((row) => ({ ...row, stream: state.stream.name, partition: state.partition })),
      {
        group: deps.group,
        topic: state.topic,
        partition: state.partition,
        expected: durable.offset,
        epoch: claimed.epoch,
        next: last.to.offset,
        watermark: last.to.watermark,
      },
      { removed: last.removed, traceId: last.traceId },
    );
    // PostgreSQL refuses that commit for its data (a poison record, isolate.ts): it never held it,
    // so its offset did not move; the state is rebuilt from PostgreSQL below, and Kafka replays
    // that batch, whose refused records are then isolated to the DLQ.
    if (flushed === 'refused') deps.onRefusedLast?.();
    else if (!flushed.ok) throw new TakeoverFenced();
    else durable = last.to;
  }

  state.epoch = claimed.epoch;
  state.windows.clear();
  if (snapshot !== null && samePosition(snapshot.position, durable)) {
    state.nextOffset = snapshot.position.offset;
    state.watermark = snapshot.position.watermark;
    state.maxEventTime = snapshot.maxEventTime;
    for (const w of snapshot.windows) {
      state.windows.set(windowId(w.tenant, w.window, w.start, w.key), {
        ...withRevivedState(w),
        stream: state.stream.name,
      });
    }
    return 'redis';
  }

  // Redis has no state for the partition, or not the one PostgreSQL holds (wiped, or it lost its
  // last writes): rebuild from PostgreSQL's rows and the offset they reflect, then Kafka replays
  // from there. Never from zero and never on top of a state that already counted those records.
  state.nextOffset = durable.offset;
  state.watermark = durable.watermark;
  state.maxEventTime = durable.watermark === null ? null : durable.watermark + state.stream.watermarkMs;
  const open = await deps.sink.readOpenWindows(state.stream.name, state.partition);
  for (const w of open) {
    state.windows.set(windowId(w.tenant, w.window, w.start, w.key), { ...w, stream: state.stream.name });
  }
  const seeded = await deps.store.seed(ref, claimed.epoch, {
    position: durable,
    maxEventTime: state.maxEventTime,
    windows: open.map((w) => ({ ...w, state: storeState(w.state) })),
  });
  if (!seeded.ok) throw new TakeoverFenced();
  return 'postgres';
}
