// `from` and `to` of the query API: RFC 3339, epoch milliseconds, or relative to now (`-15m`,
// `now`). Relative instants are resolved to whole seconds, so one hot range asked for many times a
// second is one cached answer (it moves on by a second at a time).
//
// INVARIANT (guarantee 5): every instant resolves inside [MIN_INSTANT, MAX_INSTANT), the years
// 0001 to 9999 of RFC 3339. PostgreSQL refuses an interval of more than ~178 million years and a
// `Date` past ±8.64e15 ms throws on toISOString(): an unbounded instant was a 500.

import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { z } from 'zod';

export const DEFAULT_RANGE_MS = 60 * 60_000;
const RELATIVE_STEP_MS = 1_000;
export const MIN_INSTANT = Date.parse('0001-01-01T00:00:00Z');
export const MAX_INSTANT = Date.parse('9999-12-31T23:59:59.999Z') + 1;
/** No instant is written longer than this (RFC 3339 with nanoseconds and an offset is 35). */
const MAX_INSTANT_CHARS = 40;

/** An instant as written: absolute epoch ms, or an offset back from now (`now` is 0). */
export type Instant = { readonly at: number } | { readonly ago: number };

function parseInstant(value: string): Instant | undefined {
  if (value.length > MAX_INSTANT_CHARS) return undefined;
  if (value === 'now') return { ago: 0 };
  const relative = /^-(\d+(?:\.\d+)?(?:ms|s|m|h|d))$/.exec(value);
  if (relative?.[1] !== undefined) {
    const ago = durationMs(relative[1] as Duration);
    return ago <= MAX_INSTANT - MIN_INSTANT ? { ago } : undefined;
  }
  if (/^\d+$/.test(value)) {
    const at = Number(value);
    return at < MAX_INSTANT ? { at } : undefined;
  }
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) &&
    /^\d{4}-\d{2}-\d{2}T/.test(value) &&
    parsed >= MIN_INSTANT &&
    parsed < MAX_INSTANT
    ? { at: parsed }
    : undefined;
}

/** A zod field for `from` or `to`: a string that parses as an instant. */
export const instantField = (name: string) =>
  z.string().transform((value, ctx) => {
    const parsed = parseInstant(value);
    if (parsed === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${name} must be RFC 3339 (years 0001 to 9999), epoch ms or relative like -15m`,
      });
      return z.NEVER;
    }
    return parsed;
  });

const resolve = (instant: Instant, now: number) =>
  'at' in instant ? instant.at : Math.floor(now / RELATIVE_STEP_MS) * RELATIVE_STEP_MS - instant.ago;

const rangeError = (path: 'from' | 'to', message: string, input: number) =>
  new z.ZodError([{ code: 'custom', path: [path], message, input }]);

/** [from, to) from what was asked: `to` defaults to now, `from` to an hour before `to`. */
export function resolveRange(
  from: Instant | undefined,
  to: Instant | undefined,
  now: number,
): { from: number; to: number } | z.ZodError {
  const end = to === undefined ? resolve({ ago: 0 }, now) : resolve(to, now);
  const start = from === undefined ? end - DEFAULT_RANGE_MS : resolve(from, now);
  // A relative instant far enough back resolves before the year 0001.
  if (start < MIN_INSTANT) return rangeError('from', 'from must be after 0001-01-01T00:00:00Z', start);
  if (end <= MIN_INSTANT) return rangeError('to', 'to must be after 0001-01-01T00:00:00Z', end);
  if (start >= end) return rangeError('from', 'from must be before to', start);
  return { from: start, to: end };
}

/**
 * A range's source windows past `maxWindows` (each `stepMs` apart) are refused, naming `from`: the
 * one cap of every route that reads a range (windows and top alike).
 */
export function rangeTooWide(
  range: { readonly from: number; readonly to: number },
  stepMs: number,
  maxWindows: number,
  windowName: string,
): z.ZodError | undefined {
  return (range.to - range.from) / stepMs > maxWindows
    ? rangeError(
        'from',
        `the range holds more than ${maxWindows} ${windowName} windows; narrow from/to`,
        range.from,
      )
    : undefined;
}
