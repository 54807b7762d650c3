// Session windows: an event is merged with the sessions of its key that it touches (session-bounds.ts),
// keeping the earliest start; merged-away sessions are removed in the same commit. Status and
// version are decided once per batch, after every event (finish), so they do not depend on the
// order of events within the batch.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { emptyState, merge } from '@sluice/shared/streams/aggregate';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { OpenWindow, PartitionState } from '../partition-state.ts';
import { copyWindow, windowId } from '../partition-state.ts';
import type { BatchWindows, WindowOperator } from './operator.ts';
import { countEvent, known } from './operator.ts';
import { joins, mergedBounds } from './session-bounds.ts';

const sessionKey = (tenant: string, window: string, key: string) => `${tenant}\u0000${window}\u0000${key}`;

/** Window ids of the sessions of each (tenant, window, key) the batch can see: held and loaded. */
function sessionIndex(
  state: PartitionState,
  loaded: ReadonlyMap<string, OpenWindow>,
): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  const names = new Set(
    state.stream.windows.filter((spec) => spec.kind === 'session').map((spec) => spec.name),
  );
  if (names.size === 0) return index;
  for (const windows of [state.windows, loaded]) {
    for (const [id, w] of windows) {
      if (!names.has(w.window)) continue;
      const k = sessionKey(w.tenant, w.window, w.key);
      const ids = index.get(k) ?? new Set<string>();
      ids.add(id);
      index.set(k, ids);
    }
  }
  return index;
}

/**
 * The session operator of one batch, for every session spec of the stream (they share one index of
 * the sessions the batch can see, built once).
 */
export function sessionOperator(ctx: BatchWindows, stream: StreamDefinition): WindowOperator {
  const { working, removed, amended } = ctx;
  const index = sessionIndex(ctx.state, ctx.loaded);
  /** Sessions this batch changed: whether a part of each was emitted before, and its last version. */
  const changed = new Map<string, { emitted: boolean; version: number }>();

  /** The batch's working copy of a window, made on first touch (planning never mutates the cache). */
  const copyOnce = (id: string, w: OpenWindow): OpenWindow => {
    const existing = working.get(id);
    if (existing !== undefined) return existing;
    const copy = copyWindow(w);
    working.set(id, copy);
    return copy;
  };

  return {
    add(event: SluiceEvent, target, brokenRule) {
      const { spec } = target;
      if (spec.kind !== 'session') throw new Error(`session operator given a ${spec.kind} window`);
      const window = spec.name;
      const gapMs = spec.gapMs;
      const k = sessionKey(event.tenant, window, event.key);
      const ids = index.get(k) ?? new Set<string>();
      index.set(k, ids);
      const joined: { id: string; w: OpenWindow }[] = [];
      for (const id of ids) {
        const w = working.get(id) ?? known(ctx, id);
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
      const merged = base === undefined ? emptyState(stream.aggregations) : copyOnce(base.id, base.w).state;
      for (const j of joined) {
        if (j.id === id) continue;
        merge(merged, j.w.state, stream.aggregations);
        ids.delete(j.id);
        working.delete(j.id);
        changed.delete(j.id);
        removed.set(j.id, j.w);
      }
      countEvent(merged, stream.aggregations, event, brokenRule);
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
    },

    /**
     * Guarantee 3 for sessions, once per batch: a session with a part emitted before this batch is
     * a new version; it is `amended` if it is closed at the batch's watermark, and provisional
     * again if the batch reopened it (so it stays in memory until it closes). A session new to a
     * stretch the committed watermark had passed is `amended` at version 1, as tumbling windows are.
     */
    finish(watermark) {
      const committed = ctx.state.watermark;
      for (const [id, { emitted, version }] of changed) {
        const w = working.get(id);
        if (w === undefined) continue;
        const behindCommitted = committed !== null && w.end <= committed;
        const open = watermark === null || w.end > watermark;
        w.version = emitted ? version + 1 : version;
        if ((emitted || behindCommitted) && !open) {
          w.status = 'amended';
          amended.add(id);
        }
      }
    },
  };
}
