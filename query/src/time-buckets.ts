// Buckets of a roll-up: fixed-size windows aligned to the epoch (as the processor aligns its own),
// or, for sizes of whole days with a time zone, local days that start at local midnight (so a
// bucket is 23 or 25 hours long across a daylight-saving change, as a calendar day is).

import { lru } from './lru.ts';

export const DAY_MS = 86_400_000;

export interface Bucketing {
  readonly sizeMs: number;
  /** IANA zone for day buckets; UTC when absent. */
  readonly tz: string | undefined;
}

/** Time-zone formatters kept at most (a zone's is made once; every zone of the tz database is ~600). */
export const KEPT_FORMATTERS = 128;

const formatters = lru<string, Intl.DateTimeFormat>(KEPT_FORMATTERS);

const makeFormatter = (tz: string) =>
  new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });

// INVARIANT (guarantee 5): the formatters are keyed by client input (tz), so they are bounded.
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    f = makeFormatter(tz);
    formatters.set(tz, f);
  }
  return f;
}

/** Formatters kept now (for the bound's test). */
export const keptFormatters = (): number => formatters.size;

/**
 * The zone's canonical IANA name (`europe/paris` is `Europe/Paris`), or undefined for a zone this
 * runtime does not know. Nothing is kept for an unknown zone.
 */
export function canonicalTimeZone(tz: string): string | undefined {
  try {
    return makeFormatter(tz).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The zone's offset from UTC at instant `t`, in ms (positive east of Greenwich). */
function offsetAt(t: number, tz: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) parts[p.type] = Number(p.value);
  const local = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return local - (t - (((t % 1000) + 1000) % 1000));
}

/** The UTC instant of local midnight `days` days after the local day holding `t`. */
function localMidnight(t: number, tz: string, days: number): number {
  const localDay = Math.floor((t + offsetAt(t, tz)) / DAY_MS) + days;
  const guess = localDay * DAY_MS;
  // Midnight local = guess - offset at that instant; one correction settles a DST change.
  const first = guess - offsetAt(guess, tz);
  return guess - offsetAt(first, tz);
}

/** Start of the bucket holding `t`. */
export function bucketStart(t: number, b: Bucketing): number {
  if (b.tz === undefined || b.sizeMs % DAY_MS !== 0) return Math.floor(t / b.sizeMs) * b.sizeMs;
  const days = b.sizeMs / DAY_MS;
  const midnight = localMidnight(t, b.tz, 0);
  // Multi-day buckets count whole local days from the epoch's local day.
  const dayIndex = Math.round((midnight + offsetAt(midnight, b.tz)) / DAY_MS);
  const back = ((dayIndex % days) + days) % days;
  return back === 0 ? midnight : localMidnight(midnight, b.tz, -back);
}

/** End of the bucket starting at `start` (the next bucket's start). */
export function bucketEnd(start: number, b: Bucketing): number {
  if (b.tz === undefined || b.sizeMs % DAY_MS !== 0) return start + b.sizeMs;
  return localMidnight(start, b.tz, b.sizeMs / DAY_MS);
}
