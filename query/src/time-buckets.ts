// Buckets of a roll-up: fixed-size windows aligned to the epoch (as the processor aligns its own),
// or, for sizes of whole days with a time zone, local days that start at local midnight (so a
// bucket is 23 or 25 hours long across a daylight-saving change, as a calendar day is).

import { wallTimeToUtc, zoneOffsetMs } from '@sluice/shared/time-zone';

export const DAY_MS = 86_400_000;

export interface Bucketing {
  readonly sizeMs: number;
  /** IANA zone for day buckets; UTC when absent. */
  readonly tz: string | undefined;
}

/** The UTC instant of local midnight `days` days after the local day holding `t`. */
function localMidnight(t: number, tz: string, days: number): number {
  const localDay = Math.floor((t + zoneOffsetMs(t, tz)) / DAY_MS) + days;
  return wallTimeToUtc(localDay * DAY_MS, tz);
}

/** Start of the bucket holding `t`. */
export function bucketStart(t: number, b: Bucketing): number {
  if (b.tz === undefined || b.sizeMs % DAY_MS !== 0) return Math.floor(t / b.sizeMs) * b.sizeMs;
  const days = b.sizeMs / DAY_MS;
  const midnight = localMidnight(t, b.tz, 0);
  // Multi-day buckets count whole local days from the epoch's local day.
  const dayIndex = Math.round((midnight + zoneOffsetMs(midnight, b.tz)) / DAY_MS);
  const back = ((dayIndex % days) + days) % days;
  return back === 0 ? midnight : localMidnight(midnight, b.tz, -back);
}

/** End of the bucket starting at `start` (the next bucket's start). */
export function bucketEnd(start: number, b: Bucketing): number {
  if (b.tz === undefined || b.sizeMs % DAY_MS !== 0) return start + b.sizeMs;
  return localMidnight(start, b.tz, b.sizeMs / DAY_MS);
}
