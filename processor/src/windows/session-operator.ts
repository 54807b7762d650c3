// Session windows within a batch plan: loading the stored sessions an event may join, merging an
// event with the sessions of its key that it touches (merged-away sessions are removed in the same
// commit), and deciding status and version once per batch.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { emptyState, merge } from '@sluice/shared/streams/aggregate';
import type { OpenWindow, PartitionState } from '../partition-state.ts';
import { copyWindow, windowId } from '../partition-state.ts';
import type { RecordOutcome } from '../stages/decode.ts';
import type { WindowSink } from '../stores/postgres-rows.ts';
import { joins, mergedBounds } from './session-bounds.ts';

/**
 * Sessions an event of this batch may join that are not in memory: settled ones. Every provisional
 * session of the partition is held in memory; a settled one ended at or before the committed
 * watermark, so only events at or before it can touch one.
 */
export async function loadTouchedSessions(
  state: PartitionState,
  fresh: readonly { outcome: RecordOutcome | { readonly kind: 'dlq' } }[],
  window: string,
  gapMs: number,
  sink: WindowSink,
): Promise<void> {
  const committed = state.watermark;
  if (committed === null) return;
  const lookups = new Map<string, { tenant: string; key: string; from: number; to: number }>();
  for (const { outcome } of fresh) {
    if (outcome.kind !== 'ok' || outcome.event.time > committed) continue;
    const { tenant, key, time } = outcome.event;
    lookups.set(`${tenant}\u0000${key}\u0000${time}`, { tenant, key, from: time, to: time + gapMs });
  }
  if (lookups.size === 0) return;
  for (const w of await sink.readSessions(state.stream.name, window, [...lookups.values()])) {
    const id = windowId(w.tenant, w.window, w.start, w.key);
    if (!state.windows.has(id)) state.windows.set(id, { ...w, stream: state.stream.name });
  }
}

export interface SessionContext {
  readonly state: PartitionState;
  readonly working: Map<string, OpenWindow>;
  readonly removed: Map<string, OpenWindow>;
  readonly created: Set<string>;
  /** Window ids of the sessions of each (tenant, window, key) this batch can see. */
  readonly index: Map<string, Set<string>>;
  /** Sessions this batch changed: whether a part of each was emitted before, and its last version. */
  readonly changed: Map<string, { emitted: boolean; version: number }>;
}

const sessionKey = (tenant: string, window: string, key: string) => `${tenant}\u0000${window}\u0000${key}`;

export function sessionIndex(state: PartitionState): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  const names = new Set(
    state.stream.windows.filter((spec) => spec.kind === 'session').map((spec) => spec.name),
  );
  if (names.size === 0) return index;
  for (const [id, w] of state.windows) {
    if (!names.has(w.window)) continue;
    const k = sessionKey(w.tenant, w.window, w.key);
    const ids = index.get(k) ?? new Set<string>();
    ids.add(id);
    index.set(k, ids);
  }
  return index;
}

/**
 * Adds one event to its session: the sessions of its key that it touches and the event become one
 * session, which keeps the earliest start; the others are removed in the same commit. Status and
 * version are decided once per batch, after every event (finishSessions), so they do not depend
 * on the order of events within the batch. Returns the id of the session the event is in now.
 */
export function addToSession(
  ctx: SessionContext,
  event: SluiceEvent,
  window: string,
  gapMs: number,
  apply: (state: AggState) => void,
): string {
  const { state, working, removed, index, changed } = ctx;
  const k = sessionKey(event.tenant, window, event.key);
  const ids = index.get(k) ?? new Set<string>();
  index.set(k, ids);
  const joined: { id: string; w: OpenWindow }[] = [];
  for (const id of ids) {
    const w = working.get(id) ?? state.windows.get(id);
    if (w !== undefined && joins(w, event.time, gapMs)) joined.push({ id, w });
  }
  const bounds = mergedBounds(
    event.time,
    gapMs,
    joined.map((j) => j.w),
  );
  const id = windowId(event.tenant, window, bounds.start, event.key);
  // What the merged session inherits: whether any part was emitted before this batch, its version.
  let emitted = false;
  let version = 1;
  for (const j of joined) {
    const before = changed.get(j.id) ?? { emitted: j.w.status !== 'provisional', version: j.w.version };
    emitted ||= before.emitted;
    version = Math.max(version, before.version);
  }

  // The session keeping this start is the base (copied once per batch); the others merge into it.
  const base = joined.find((j) => j.id === id);
  const merged =
    base === undefined ? emptyState(state.stream.aggregations) : copyOnce(ctx, base.id, base.w).state;
  for (const j of joined) {
    if (j.id === id) continue;
    merge(merged, j.w.state, state.stream.aggregations);
    ids.delete(j.id);
    working.delete(j.id);
    changed.delete(j.id);
    removed.set(j.id, j.w);
  }
  apply(merged);
  if (base === undefined) ctx.created.add(id);
  working.set(id, {
    tenant: event.tenant,
    stream: event.stream,
    window,
    start: bounds.start,
    end: bounds.end,
    key: event.key,
    state: merged,
    status: 'provisional',
    version,
  });
  ids.add(id);
  removed.delete(id);
  changed.set(id, { emitted, version });
  return id;
}

/**
 * Guarantee 3 for sessions, once per batch: a session with a part emitted before this batch is a
 * new version; it is `amended` if it is closed at the batch's watermark, and provisional again if
 * the batch reopened it (so it stays in memory until it closes). A session new to a stretch the
 * committed watermark had passed is `amended` at version 1, as tumbling windows are.
 */
export function finishSessions(ctx: SessionContext, amended: Set<string>, watermark: number | null): void {
  const committed = ctx.state.watermark;
  for (const [id, { emitted, version }] of ctx.changed) {
    const w = ctx.working.get(id);
    if (w === undefined) continue;
    const behindCommitted = committed !== null && w.end <= committed;
    const open = watermark === null || w.end > watermark;
    w.version = emitted ? version + 1 : version;
    if ((emitted || behindCommitted) && !open) {
      w.status = 'amended';
      amended.add(id);
    }
  }
}

/** The batch's working copy of a window, made on first touch (planning never mutates the cache). */
function copyOnce(ctx: SessionContext, id: string, w: OpenWindow): OpenWindow {
  const existing = ctx.working.get(id);
  if (existing !== undefined) return existing;
  const copy = copyWindow(w);
  ctx.working.set(id, copy);
  return copy;
}
