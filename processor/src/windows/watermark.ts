// The watermark rules. It advances to the largest event time seen minus the stream's watermark
// delay, never back (backfills move it not at all). Guarantee 3: an event is on time for a window
// while the watermark has not passed the window's end; an amendment while it has, but by no more
// than the allowed lateness; late (to `<stream>.late`) beyond that. A window settles when the
// watermark passes its end. Guarantee 7: a partition with nothing to read for the idle timeout
// moves its watermark by wall clock, so its last windows settle.

import type { OpenWindow, PartitionState } from '../partition-state.ts';
import { copyWindow } from '../partition-state.ts';
import type { Target } from './assign.ts';

export type Lateness = 'on-time' | 'amend' | 'late';

export function latenessOf(windowEnd: number, watermark: number | null, allowedLatenessMs: number): Lateness {
  if (watermark === null || windowEnd > watermark) return 'on-time';
  return windowEnd + allowedLatenessMs > watermark ? 'amend' : 'late';
}

/** The watermark after an event whose time moved the maximum to `maxEventTime`: it never goes back. */
export function advancedWatermark(watermark: number | null, maxEventTime: number, delayMs: number): number {
  const candidate = maxEventTime - delayMs;
  return watermark === null ? candidate : Math.max(watermark, candidate);
}

/**
 * The windows past allowed lateness at `watermark` split off (their starts), or null if none is.
 * A plain loop first: most events have no late window, and this runs per event.
 */
export function splitLate(
  windows: readonly Target[],
  watermark: number | null,
  allowedLatenessMs: number,
): { targets: Target[]; lateFor: number[] } | null {
  let anyLate = false;
  for (let i = 0; i < windows.length && !anyLate; i++) {
    const end = windows[i]?.bounds.end;
    anyLate = end !== undefined && latenessOf(end, watermark, allowedLatenessMs) === 'late';
  }
  if (!anyLate) return null;
  const isLate = (t: Target) => latenessOf(t.bounds.end, watermark, allowedLatenessMs) === 'late';
  return {
    targets: windows.filter((t) => !isLate(t)),
    lateFor: windows.filter(isLate).map((t) => t.bounds.start),
  };
}

/**
 * Settles every provisional window (held, loaded for this batch, or changed by it) whose end the
 * watermark has passed: a working copy with status `settled` joins `working`. Returns how many.
 */
export function settle(
  state: PartitionState,
  working: Map<string, OpenWindow>,
  watermark: number | null,
  loaded: ReadonlyMap<string, OpenWindow> = new Map(),
  removed: ReadonlyMap<string, OpenWindow> = new Map(),
): number {
  if (watermark === null) return 0;
  let settled = 0;
  const ids = new Set([...state.windows.keys(), ...loaded.keys(), ...working.keys()]);
  for (const id of ids) {
    if (removed.has(id)) continue;
    const current = working.get(id) ?? state.windows.get(id) ?? loaded.get(id);
    if (current === undefined || current.status !== 'provisional' || current.end > watermark) continue;
    // A copy: the held window changes only once the plan is durable (commit-protocol.ts).
    const w = working.get(id) ?? copyWindow(current);
    w.status = 'settled';
    working.set(id, w);
    settled += 1;
  }
  return settled;
}

/**
 * Guarantee 7 is for a partition with nothing to read, given the end offset the consumer knows:
 * records waiting past this worker's position (a rebalance in progress, a worker that was paused)
 * do not make it idle. Nor does an end the consumer does not know (not fetched yet, or its broker
 * away), and the idle time starts again from it: a broker restart must not settle windows whose
 * events the clients are still retrying.
 */
export function nothingToRead(state: PartitionState, end: bigint | undefined, now: number): boolean {
  if (end === undefined) {
    state.lastActivity = now;
    return false;
  }
  return state.nextOffset === null || end <= state.nextOffset;
}

/**
 * Guarantee 7: the wall-clock watermark of a partition idle for `idleMs` with open windows, or null
 * while it is not idle or the watermark would not move.
 */
export function idleWatermark(state: PartitionState, now: number, idleMs: number): number | null {
  if (state.nextOffset === null || state.windows.size === 0) return null;
  if (now - state.lastActivity < idleMs) return null;
  const candidate = now - state.stream.watermarkMs;
  if (state.watermark !== null && candidate <= state.watermark) return null;
  return candidate;
}
