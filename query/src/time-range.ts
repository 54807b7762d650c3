// `from` and `to` of the query API: RFC 3339, epoch milliseconds, or relative to now (`-15m`,
// `now`). Relative instants are resolved to whole seconds, so one hot range asked for many times a
// second is one cached answer (it moves on by a second at a time).

import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { z } from 'zod';

export const DEFAULT_RANGE_MS = 60 * 60_000;
const RELATIVE_STEP_MS = 1_000;

/** An instant as written: absolute epoch ms, or an offset back from now (`now` is 0). */
export type Instant = { readonly at: number } | { readonly ago: number };

function parseInstant(value: string): Instant | undefined {
  if (value === 'now') return { ago: 0 };
  const relative = /^-(\d+(?:\.\d+)?(?:ms|s|m|h|d))$/.exec(value);
  if (relative?.[1] !== undefined) return { ago: durationMs(relative[1] as Duration) };
  if (/^\d+$/.test(value)) return { at: Number(value) };
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) && /^\d{4}-\d{2}-\d{2}T/.test(value) ? { at: parsed } : undefined;
}

/** A zod field for `from` or `to`: a string that parses as an instant. */
export const instantField = (name: string) =>
  z.string().transform((value, ctx) => {
    const parsed = parseInstant(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `${name} must be RFC 3339, epoch ms or relative like -15m` });
      return z.NEVER;
    }
    return parsed;
  });

const resolve = (instant: Instant, now: number) =>
  'at' in instant ? instant.at : Math.floor(now / RELATIVE_STEP_MS) * RELATIVE_STEP_MS - instant.ago;

/** [from, to) from what was asked: `to` defaults to now, `from` to an hour before `to`. */
export function resolveRange(
  from: Instant | undefined,
  to: Instant | undefined,
  now: number,
): { from: number; to: number } | z.ZodError {
  const end = to === undefined ? resolve({ ago: 0 }, now) : resolve(to, now);
  const start = from === undefined ? end - DEFAULT_RANGE_MS : resolve(from, now);
  if (start >= end)
    return new z.ZodError([
      { code: 'custom', path: ['from'], message: 'from must be before to', input: start },
    ]);
  return { from: start, to: end };
}
