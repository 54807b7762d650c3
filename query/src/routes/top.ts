// GET /v1/streams/{stream}/top?agg=&by=&from=&to=&n=: the n keys with the highest value of one
// aggregate over a range, merged from the stream's finest tumbling window (hopping windows
// overlap, so merging them would count an event more than once).

import { createRoute, z } from '@hono/zod-openapi';
import type { StoredWindow } from '@sluice/shared/db/window-rows';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { appError, ok } from '@sluice/shared/result';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { emptyState, merge, reviveState, valuesOf } from '@sluice/shared/streams/aggregate';
import type { StreamDefinition, WindowSpec } from '@sluice/shared/streams/define';
import { valueNames } from '@sluice/shared/streams/define';
import type { Context } from 'hono';
import { cachedAnswer } from '../cached-answer.ts';
import { isComplete, readRange } from '../read-range.ts';
import { streamParam } from '../stream-param.ts';
import { instantField, rangeTooWide, resolveRange } from '../time-range.ts';
import { joinKey, keyParts } from '../window-answer.ts';
import { MAX_PARAM_CHARS, MAX_WINDOWS_IN_RANGE } from '../windows-params.ts';
import type { QueryEnv } from './contract.ts';
import { bearer, errors, json, StreamParam } from './contract.ts';
import type { WindowsRouteDeps } from './windows.ts';
import { instant, queryParams, Values } from './windows.ts';

export const MAX_TOP_N = 100;

export interface TopRow {
  readonly key: string;
  readonly keys: Record<string, string>;
  readonly value: number | null;
  readonly values: Record<string, number | null>;
}

export interface TopResponse {
  readonly data: TopRow[];
  readonly agg: string;
  readonly window: string;
  readonly from: string;
  readonly to: string;
  readonly watermark: string | null;
  /** The watermark passed `to` and no window in range is provisional: these numbers are final. */
  readonly complete: boolean;
}

function schemaFor(stream: StreamDefinition) {
  const values = stream.aggregations.flatMap(valueNames);
  const keys = stream.keyBy;
  return z.object({
    agg: z
      .string()
      .max(MAX_PARAM_CHARS, { message: `agg is longer than ${MAX_PARAM_CHARS} characters` })
      .default(values[0] ?? 'count')
      .refine((a) => values.includes(a), { message: `agg must be one of: ${values.join(', ')}` }),
    by: z
      .string()
      .max(MAX_PARAM_CHARS, { message: `by is longer than ${MAX_PARAM_CHARS} characters` })
      .default(keys.join(','))
      .transform((b) => b.split(','))
      .refine((b) => b.length > 0 && b.every((field) => keys.includes(field)), {
        message: `by must be a comma-separated list of: ${keys.join(', ')}`,
      }),
    from: instantField('from').optional(),
    to: instantField('to').optional(),
    n: z.coerce.number().int().min(1).max(MAX_TOP_N).default(10),
  });
}

const schemas = new WeakMap<StreamDefinition, ReturnType<typeof schemaFor>>();

const finest = (stream: StreamDefinition) =>
  stream.windows
    .filter((w): w is Extract<WindowSpec, { kind: 'tumbling' }> => w.kind === 'tumbling')
    .sort((a, b) => a.sizeMs - b.sizeMs)[0];

/** The ranked aggregate and every cheap one: other sketches are neither read nor decoded. */
function mergedAggs(stream: StreamDefinition, agg: string) {
  return stream.aggregations.filter(
    (a) => (a.fn !== 'distinct' && a.fn !== 'quantiles') || valueNames(a).includes(agg),
  );
}

/** The top `n` groups by `agg` over `rows` (descending, nulls last, ties by key). */
export function rankTop(
  stream: StreamDefinition,
  rows: readonly StoredWindow[],
  q: { agg: string; by: readonly string[]; n: number },
): TopRow[] {
  const indexes = q.by.map((field) => stream.keyBy.indexOf(field));
  // The ranked aggregate and every cheap one; other sketches are never decoded.
  const aggs = mergedAggs(stream, q.agg);
  const groups = new Map<string, { parts: string[]; state: AggState }>();
  for (const row of rows) {
    const all = keyParts(stream, row.key);
    const parts = indexes.map((i) => all[i] ?? '');
    const key = joinKey(parts);
    let group = groups.get(key);
    if (group === undefined) {
      group = { parts, state: emptyState(aggs) };
      groups.set(key, group);
    }
    merge(group.state, reviveState(row.state, aggs), aggs);
  }
  const ranked = [...groups].map(([key, g]) => {
    const values = valuesOf(g.state, aggs);
    return {
      key,
      keys: Object.fromEntries(q.by.map((field, i) => [field, g.parts[i] ?? ''])),
      value: values[q.agg] ?? null,
      values,
    };
  });
  ranked.sort((a, b) =>
    a.value === b.value
      ? a.key.localeCompare(b.key)
      : a.value === null
        ? 1
        : b.value === null
          ? -1
          : b.value - a.value,
  );
  return ranked.slice(0, q.n);
}

export function topHandler(deps: WindowsRouteDeps) {
  return async function getTop(c: Context<QueryEnv>): Promise<Response> {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const window = finest(stream);
    if (window === undefined)
      return errorResponse(c, appError('bad_request', `stream '${stream.name}' declares no tumbling window`));
    let schema = schemas.get(stream);
    if (schema === undefined) {
      schema = schemaFor(stream);
      schemas.set(stream, schema);
    }
    // Every value of a repeated parameter, so `n=1&n=2` is a 400 here as on the windows route.
    const parsed = schema.safeParse(queryParams(c, []));
    if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid query parameters'));
    const range = resolveRange(parsed.data.from, parsed.data.to, deps.now());
    if (range instanceof z.ZodError)
      return errorResponse(c, validationError(range, 'invalid query parameters'));
    // The windows route's range cap, over the finest window this route merges.
    const tooWide = rangeTooWide(range, window.sizeMs, MAX_WINDOWS_IN_RANGE, window.name);
    if (tooWide !== undefined) return errorResponse(c, validationError(tooWide, 'invalid query parameters'));
    const q = { ...parsed.data, by: stream.keyBy.filter((k) => parsed.data.by.includes(k)) };
    // The key's tenant: in the cache key too, so no tenant is ever served another's answer.
    const { tenant } = c.var.principal;
    // JSON of the normalised parameters: no value can spell another query's key (see windows-lookup.ts).
    const key = JSON.stringify(['top', tenant, stream.name, q.agg, q.by, range.from, range.to, q.n]);
    return cachedAnswer(
      c,
      deps,
      { key, scope: { tenant, stream: stream.name, window: window.name }, ...range },
      async () => {
        const read = await readRange(deps, {
          tenant,
          stream,
          window: window.name,
          ...range,
          stateOf: mergedAggs(stream, q.agg),
        });
        if (!read.ok) return read;
        const { rows, watermark } = read.value;
        const complete = isComplete(watermark, range.to, rows);
        const body: TopResponse = {
          data: rankTop(stream, rows, q),
          agg: q.agg,
          window: window.name,
          from: new Date(range.from).toISOString(),
          to: new Date(range.to).toISOString(),
          watermark: watermark === null ? null : new Date(watermark).toISOString(),
          complete,
        };
        return ok({ body, watermark, complete });
      },
    );
  };
}

const TopResponseSchema = z
  .object({
    data: z.array(
      z.object({
        key: z.string(),
        keys: z.record(z.string(), z.string()),
        value: z.number().nullable(),
        values: Values,
      }),
    ),
    agg: z.string(),
    window: z.string(),
    from: z.string(),
    to: z.string(),
    watermark: z.string().nullable(),
    complete: z.boolean(),
  })
  .openapi('TopResponse');

export const TOP = createRoute({
  method: 'get',
  path: '/v1/streams/{stream}/top',
  summary: "Top-N keys of the key's tenant by one aggregate over a range",
  ...bearer('windows:read'),
  request: {
    params: StreamParam,
    query: z.object({
      agg: z.string().optional().openapi({ description: 'A value name such as count or sum_amount' }),
      by: z
        .string()
        .optional()
        .openapi({ description: 'Key fields, comma-separated; default the whole key' }),
      from: instant('Start of the range (at most 100,000 of the finest tumbling windows before to)'),
      to: instant('End of the range'),
      n: z.coerce.number().int().min(1).max(100).optional().openapi({ description: 'How many (default 10)' }),
    }),
  },
  responses: {
    200: json(TopResponseSchema, 'Keys ranked by the aggregate, highest first'),
    304: { description: 'Unchanged since the ETag given in If-None-Match' },
    ...errors,
  },
});
