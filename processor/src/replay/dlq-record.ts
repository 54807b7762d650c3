// What a DLQ replay records per DLQ partition, in its consumer group's commit, so that it knows
// exactly which dead letters an earlier run re-sent (processor/src/replay/dlq.ts says why it must):
// the position (the committed offset), `seen` (one past the highest offset ever re-sent), the
// cursor, and the holes: the offsets in [position, seen) that were NOT re-sent (still failing,
// outside a --tenant run, refused as too old, not read, or no record at all). So an offset in
// [position, seen) outside the holes was re-sent, and one inside them never was.
//
// Guarantees kept:
// - Exact and bounded: at most MAX_HOLES holes (intervals), so the metadata stays under the
//   broker's offset.metadata.max.bytes (4096 by default) even with 19-digit offsets. A run whose
//   sends would need more stops sending in that partition there (planSends): the rest are held
//   for a later run, never sent unrecorded.
// - Never backwards: two runs that overlap (the lock in `./sluice dlq` prevents it; this is the
//   defence behind it) merge what they record (mergeStored): the higher position and `seen`, and
//   an offset is a hole only if neither run re-sent it.
// - Conservative when unreadable: metadata that does not parse reads as no holes (everything
//   below `seen` may have been re-sent), which can refuse a copy but never count one twice.

/** Offsets [from, to) below `seen` that no replay re-sent: ascending, disjoint, not adjacent. */
export type Holes = readonly (readonly [bigint, bigint])[];

/** At most this many holes per partition: 120 × two 13-character numbers fit in 4096 bytes. */
export const MAX_HOLES = 120;

export interface ReplayState {
  /** Every dead letter below it is done. */
  readonly position: bigint;
  /** One past the highest offset ever re-sent (0n: none). */
  readonly seen: bigint;
  readonly holes: Holes;
  /** Where the next run reads on, left by a run that stopped at its limit (0n: none). */
  readonly cursor: bigint;
}

/** Whether a replay re-sent `offset` (or recorded, before sending, that it would). */
export function wasSent(state: Pick<ReplayState, 'seen' | 'holes'>, offset: bigint): boolean {
  if (offset >= state.seen) return false;
  for (const [from, to] of state.holes) {
    if (offset < from) return true;
    if (offset < to) return false;
  }
  return true;
}

// Offsets are bigints, which Math.max and Math.min do not take.
function most(a: bigint, b: bigint): bigint {
  if (a > b) return a;
  return b;
}
function least(a: bigint, b: bigint): bigint {
  if (a < b) return a;
  return b;
}

/** `holes` within [low, high), merged where they touch. */
export function clip(holes: Holes, low: bigint, high: bigint): Holes {
  const out: [bigint, bigint][] = [];
  for (const [f, t] of holes) {
    const from = most(f, low);
    const to = least(t, high);
    if (from >= to) continue;
    const last = out.at(-1);
    if (last !== undefined && last[1] >= from) last[1] = most(to, last[1]);
    else out.push([from, to]);
  }
  return out;
}

export interface SendPlan {
  /** How many of the candidates (a prefix) this run may send; the rest are held. */
  readonly sendable: number;
  readonly seen: bigint;
  readonly holes: Holes;
}

/**
 * What sending `offsets` (ascending, one partition) does to the record: `seen` moves past the
 * highest sent, everything from the old `seen` up to it that is not sent becomes a hole, and a
 * hole sent now closes. Stops before the first offset that would make more than MAX_HOLES holes.
 */
export function planSends(state: ReplayState, offsets: readonly bigint[]): SendPlan {
  // Not sent: the holes at or above the position, each a hole, then [seen, ∞), whose start is
  // always the current `seen` (it moves with each send above it): never a hole itself.
  const holes: [bigint, bigint][] = clip(state.holes, state.position, state.seen).map(([f, t]) => [f, t]);
  let seen = state.seen;
  let i = 0;
  let sendable = 0;
  for (const offset of offsets) {
    if (offset >= seen) {
      // [seen, offset) was not sent: a new hole, or the last one grown when it ends at `seen`.
      const last = holes.at(-1);
      if (offset > seen) {
        if (last !== undefined && last[1] === seen) last[1] = offset;
        else if (holes.length >= MAX_HOLES) break;
        else holes.push([seen, offset]);
      }
      seen = offset + 1n;
    } else {
      while ((holes[i]?.[1] ?? offset + 1n) <= offset) i++;
      const hole = holes[i];
      // In a hole: it closes, shrinks or splits in two (one more). Else sent before: no change.
      if (hole !== undefined && hole[0] <= offset) {
        const pieces: [bigint, bigint][] = [];
        if (hole[0] < offset) pieces.push([hole[0], offset]);
        if (offset + 1n < hole[1]) pieces.push([offset + 1n, hole[1]]);
        if (holes.length - 1 + pieces.length > MAX_HOLES) break;
        holes.splice(i, 1, ...pieces);
      }
    }
    sendable++;
  }
  return { sendable, seen, holes };
}

/** Offsets in either set of holes' complement count as sent: the intersection of "not sent". */
function bothUnsent(a: ReplayState, b: ReplayState): Holes {
  // Each side's "not sent": its holes and [seen, ∞), written with `seen` as the open end's start.
  const high = most(a.seen, b.seen);
  const open = (s: ReplayState): Holes => [...s.holes, [s.seen, high]];
  const left = clip(open(a), 0n, high);
  const right = clip(open(b), 0n, high);
  const out: [bigint, bigint][] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    const l = left[i];
    const r = right[j];
    if (l === undefined || r === undefined) break;
    const from = most(l[0], r[0]);
    const to = least(l[1], r[1]);
    if (from < to) out.push([from, to]);
    if (l[1] < r[1]) i++;
    else j++;
  }
  return out;
}

/**
 * What to commit when `stored` (read right before committing) is not what this run started
 * from: never a lower position or `seen` than stored, and every offset either run re-sent stays
 * recorded as sent. Undefined when the merged holes exceed MAX_HOLES (nothing is committed then).
 */
export function mergeStored(ours: ReplayState, stored: ReplayState): ReplayState | undefined {
  const position = most(ours.position, stored.position);
  const seen = most(ours.seen, stored.seen);
  const holes = clip(bothUnsent(ours, stored), position, seen);
  if (holes.length > MAX_HOLES) return undefined;
  return { position, seen, holes, cursor: ours.cursor > position ? ours.cursor : 0n };
}

// The commit metadata: {"seen":"…","cursor":"…","holes":"…"}; holes as base-36 numbers, each
// hole's start less the previous end (the position for the first), then its length.
const NUMBER = /^[0-9a-z]{1,13}$/;

export function encodeMetadata(state: ReplayState): string {
  const parts: string[] = [];
  let end = state.position;
  for (const [from, to] of clip(state.holes, state.position, state.seen)) {
    parts.push((from - end).toString(36), (to - from).toString(36));
    end = to;
  }
  return JSON.stringify({
    seen: state.seen.toString(),
    cursor: state.cursor.toString(),
    holes: parts.join(','),
  });
}

/** `seen`, cursor and holes from a commit's metadata; none (0n, no holes) when absent or not ours. */
export function decodeMetadata(
  text: string | null | undefined,
  position: bigint,
): Pick<ReplayState, 'seen' | 'cursor' | 'holes'> {
  const none = { seen: 0n, cursor: 0n, holes: [] };
  const read = (value: unknown) =>
    typeof value === 'string' && /^\d{1,19}$/.test(value) ? BigInt(value) : 0n;
  let fields: Record<string, unknown>;
  try {
    const meta: unknown = JSON.parse(text ?? '{}');
    if (typeof meta !== 'object' || meta === null) return none;
    fields = meta as Record<string, unknown>;
  } catch {
    return none;
  }
  const seen = read(fields.seen);
  return { seen, cursor: read(fields.cursor), holes: decodeHoles(fields.holes, position, seen) };
}

function decodeHoles(value: unknown, position: bigint, seen: bigint): Holes {
  if (typeof value !== 'string' || value === '') return [];
  const numbers = value.split(',');
  if (numbers.length % 2 !== 0 || numbers.length > 2 * MAX_HOLES || !numbers.every((n) => NUMBER.test(n)))
    return [];
  const holes: [bigint, bigint][] = [];
  let end = position;
  for (let k = 0; k < numbers.length; k += 2) {
    const from = end + parseBase36(numbers[k] ?? '');
    const to = from + parseBase36(numbers[k + 1] ?? '');
    // Disjoint and ascending, non-empty, below `seen`: else not ours, and read as no holes.
    if (to <= from || to > seen || (k > 0 && from <= end)) return [];
    holes.push([from, to]);
    end = to;
  }
  return holes;
}

function parseBase36(text: string): bigint {
  let n = 0n;
  for (const c of text) n = n * 36n + BigInt(Number.parseInt(c, 36));
  return n;
}
