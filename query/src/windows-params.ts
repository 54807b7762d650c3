// Query parameters of GET /v1/streams/{stream}/windows, validated against the stream they name.
// The schema is built once per stream (zod compiles a schema on first use); relative times are
// resolved after parsing, so the schema itself does not depend on the clock.
//
// `window` is a declared window, or a roll-up: a size that is a whole multiple of a declared
// tumbling window (`5m`, `1h`, `1d` over `1m`), answered by merging the finer windows (every
// aggregation is mergeable: counts, sums, min, max, HyperLogLog, DDSketch, quality counts).

import type { AggSpec, StreamDefinition, WindowSpec } from '@sluice/shared/streams/define';
import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { canonicalTimeZone } from '@sluice/shared/time-zone';
import { z } from 'zod';
import type { Bucketing } from './time-buckets.ts';
import { DAY_MS } from './time-buckets.ts';
import { instantField, MAX_INSTANT, MIN_INSTANT, rangeTooWide, resolveRange } from './time-range.ts';

export { DEFAULT_RANGE_MS } from './time-range.ts';

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 1_000;
/** At most this many source windows per key in one range (about 69 days of 1-minute windows). */
export const MAX_WINDOWS_IN_RANGE = 100_000;
/** The largest roll-up size (a leap year of days). */
export const MAX_ROLL_UP_MS = 366 * DAY_MS;
/** Characters of one parameter's value at most (a key value, a list of fields, a cursor). */
export const MAX_PARAM_CHARS = 1_024;
/** `filter` items at most in one query. */
export const MAX_FILTERS = 100;
/** A time zone shifts buckets by its offset, so a roll-up in one needs 15-minute source windows. */
const TZ_SOURCE_STEP_MS = 15 * 60_000;

/** Where the next page starts: after this window start and key (keyset, stable under inserts). */
export interface Cursor {
  readonly start: number;
  readonly key: string;
}

export interface WindowsParams {
  /** The window asked for: a declared name, or a roll-up size. */
  readonly window: string;
  /** The declared window read from PostgreSQL. */
  readonly source: WindowSpec;
  /** Buckets to merge source windows into; null answers the declared window as computed. */
  readonly rollUp: Bucketing | null;
  readonly from: number;
  readonly to: number;
  /** Key fields to group by, in declared order; empty rolls every key of a window up into one. */
  readonly groupBy: readonly string[];
  /** Key field -> the values kept (a field repeated in `filter` keeps any of its values). */
  readonly filter: ReadonlyMap<string, ReadonlySet<string>>;
  readonly aggs: readonly AggSpec[];
  readonly limit: number;
  readonly cursor: Cursor | null;
}

/**
 * One parameter's value, at most `max` characters. INVARIANT (guarantee 5): nothing a client sends
 * is worked on, kept or echoed back unbounded; the message names the parameter.
 */
const bounded = (name: string, max = MAX_PARAM_CHARS) =>
  z.string().max(max, { message: `${name} is longer than ${max} characters` });

/** A repeatable query parameter arrives as one string or several (MAX_FILTERS at most). */
const repeatable = (name: string) =>
  z
    .union([
      bounded(name),
      z.array(bounded(name)).max(MAX_FILTERS, { message: `${name} repeats more than ${MAX_FILTERS} times` }),
    ])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional();

const ROLL_UP = /^\d{1,9}(ms|s|m|h|d)$/;

export const encodeCursor = (c: Cursor) =>
  Buffer.from(JSON.stringify([c.start, c.key])).toString('base64url');

/**
 * A cursor is a position, not a credential: a forged one that decodes to a window start and a key
 * only moves its sender's own page. One that does not (or names an instant out of range) is a 400.
 */
function decodeCursor(value: string): Cursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString());
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isSafeInteger(parsed[0]) &&
      parsed[0] >= MIN_INSTANT &&
      parsed[0] < MAX_INSTANT &&
      typeof parsed[1] === 'string' &&
      parsed[1].length <= MAX_PARAM_CHARS
    )
      return { start: parsed[0], key: parsed[1] };
  } catch {
    // falls through to undefined
  }
  return undefined;
}

/** The declared tumbling window a roll-up to `sizeMs` reads: the coarsest that divides it. */
function rollUpSource(stream: StreamDefinition, sizeMs: number, tz: string | undefined) {
  if (sizeMs <= 0 || sizeMs > MAX_ROLL_UP_MS) return undefined;
  const candidates = stream.windows.filter(
    (w): w is Extract<WindowSpec, { kind: 'tumbling' }> =>
      w.kind === 'tumbling' &&
      sizeMs % w.sizeMs === 0 &&
      (tz === undefined || sizeMs % DAY_MS !== 0 || TZ_SOURCE_STEP_MS % w.sizeMs === 0),
  );
  return candidates.sort((a, b) => b.sizeMs - a.sizeMs)[0];
}

function schemaFor(stream: StreamDefinition) {
  const windowNames = stream.windows.map((w) => w.name);
  const aggNames = stream.aggregations.map((a) => a.name);
  const keys = stream.keyBy;
  return z
    .object({
      // Checked here too (the object-level check below runs only when every field parsed), so a
      // bad window is reported beside any other bad parameter.
      window: bounded('window', 32)
        .default(windowNames[0] ?? '')
        .refine(
          (w) =>
            windowNames.includes(w) ||
            (ROLL_UP.test(w) && rollUpSource(stream, durationMs(w as Duration), undefined) !== undefined),
          {
            message: `window must be one of ${windowNames.join(', ')} or a multiple of a declared tumbling window up to 366d`,
          },
        ),
      from: instantField('from').optional(),
      to: instantField('to').optional(),
      group_by: bounded('group_by')
        .default(keys.join(','))
        .transform((g) => (g === '' || g === 'none' ? [] : g.split(',')))
        .refine((g) => g.every((field) => keys.includes(field)), {
          message: `group_by must be 'none' or a comma-separated list of: ${keys.join(', ')}`,
        }),
      filter: repeatable('filter').transform((items, ctx) => {
        const filter = new Map<string, Set<string>>();
        for (const item of items ?? []) {
          const eq = item.indexOf('=');
          const field = item.slice(0, eq);
          if (eq < 1 || !keys.includes(field)) {
            ctx.addIssue({
              code: 'custom',
              message: `filter must be key=value with a key of: ${keys.join(', ')}`,
            });
            return z.NEVER;
          }
          filter.set(field, (filter.get(field) ?? new Set()).add(item.slice(eq + 1)));
        }
        return filter;
      }),
      aggs: bounded('aggs')
        .optional()
        .transform((a) => (a === undefined || a === '' ? aggNames : a.split(',')))
        .refine((a) => a.every((name) => aggNames.includes(name)), {
          message: `aggs must be a comma-separated list of: ${aggNames.join(', ')}`,
        }),
      // The zone's canonical name, so every spelling of one zone is one cache key.
      tz: bounded('tz', 64)
        .optional()
        .transform((tz, ctx) => {
          if (tz === undefined) return undefined;
          const canonical = canonicalTimeZone(tz);
          if (canonical === undefined) {
            ctx.addIssue({ code: 'custom', message: 'tz must be an IANA time zone like Europe/Paris' });
            return z.NEVER;
          }
          return canonical;
        }),
      limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
      cursor: bounded('cursor', 2 * MAX_PARAM_CHARS)
        .optional()
        .transform((value, ctx) => {
          if (value === undefined) return null;
          const cursor = decodeCursor(value);
          if (cursor === undefined) {
            ctx.addIssue({ code: 'custom', message: 'cursor is not one this API gave out' });
            return z.NEVER;
          }
          return cursor;
        }),
    })
    .transform((q, ctx) => {
      const declared = stream.windows.find((w) => w.name === q.window);
      let source: WindowSpec | undefined = declared;
      let rollUp: Bucketing | null = null;
      if (declared === undefined && ROLL_UP.test(q.window)) {
        const sizeMs = durationMs(q.window as Duration);
        source = rollUpSource(stream, sizeMs, q.tz);
        rollUp = { sizeMs, tz: sizeMs % DAY_MS === 0 ? q.tz : undefined };
      }
      if (source === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['window'],
          message: `window must be one of ${windowNames.join(', ')} or a multiple of a declared tumbling window`,
        });
        return z.NEVER;
      }
      const regroups = rollUp !== null || q.group_by.length < keys.length;
      if (source.kind === 'session' && regroups) {
        ctx.addIssue({
          code: 'custom',
          path: ['group_by'],
          message: 'session windows are per key: group_by must be the whole key, and they do not roll up',
        });
        return z.NEVER;
      }
      return { ...q, source, rollUp };
    });
}

const schemas = new WeakMap<StreamDefinition, ReturnType<typeof schemaFor>>();

/** The query as parsed, before relative times are resolved: the same at any time. */
export type WindowsQuery = z.output<ReturnType<typeof schemaFor>>;

type Parsed<T> = { success: true; data: T } | { success: false; error: z.ZodError };

/** Validates the query parameters against the stream; nothing here depends on the clock. */
export function parseWindowsQuery(
  stream: StreamDefinition,
  query: Record<string, string | string[]>,
): Parsed<WindowsQuery> {
  let schema = schemas.get(stream);
  if (schema === undefined) {
    schema = schemaFor(stream);
    schemas.set(stream, schema);
  }
  const parsed = schema.safeParse(query);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error };
}

export function parseWindowsParams(
  stream: StreamDefinition,
  query: Record<string, string | string[]>,
  now: number,
): Parsed<WindowsParams> {
  const parsed = parseWindowsQuery(stream, query);
  return parsed.success ? resolveWindowsParams(stream, parsed.data, now) : parsed;
}

/** A parsed query's range resolved at `now` (relative times), checked against the read limits. */
export function resolveWindowsParams(
  stream: StreamDefinition,
  q: WindowsQuery,
  now: number,
): Parsed<WindowsParams> {
  const range = resolveRange(q.from, q.to, now);
  if (range instanceof z.ZodError) return { success: false, error: range };
  const step =
    q.source.kind === 'hopping' ? q.source.slideMs : q.source.kind === 'tumbling' ? q.source.sizeMs : 60_000;
  const tooWide = rangeTooWide(range, step, MAX_WINDOWS_IN_RANGE, q.source.name);
  if (tooWide !== undefined) return { success: false, error: tooWide };
  const order = (fields: readonly string[]) => stream.keyBy.filter((k) => fields.includes(k));
  return {
    success: true,
    data: {
      window: q.window,
      source: q.source,
      rollUp: q.rollUp,
      from: range.from,
      to: range.to,
      groupBy: order(q.group_by),
      filter: q.filter,
      aggs: stream.aggregations.filter((a) => q.aggs.includes(a.name)),
      limit: q.limit,
      cursor: q.cursor,
    },
  };
}
