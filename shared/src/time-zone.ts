// Time zones by IANA name: offsets at an instant and local wall times read as instants, for the
// query service's local-day roll-ups and for streams whose clients send times without a zone.
// Web APIs only (Intl): the edge runs this code too.

import { lru } from './lru.ts';

/** Time-zone formatters kept at most (a zone's is made once; every zone of the tz database is ~600). */
export const KEPT_FORMATTERS = 128;

// INVARIANT (guarantee 5): zones come from client input (the query's tz), so formatters are bounded.
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
export function zoneOffsetMs(t: number, tz: string): number {
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

/**
 * The instant a local wall time names in `tz`, the wall time given as if it were UTC. The offset
 * at the wall time read as UTC is a guess; one correction settles a daylight-saving change between.
 */
export function wallTimeToUtc(wall: number, tz: string): number {
  const first = wall - zoneOffsetMs(wall, tz);
  return wall - zoneOffsetMs(first, tz);
}
