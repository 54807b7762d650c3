// GET /v1/streams/{stream}/windows: window rows {window_start, window_end, key, keys, values,
// status, version, trace_id} with the watermark and a cursor to the next page, cached in Redis.
// A hit this process can answer without I/O never gets here: the hit path answers it before Hono
// (hit-path.ts), with the same lookup (windows-lookup.ts) and the same headers.

import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { ok } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import type { CacheDeps } from '../cached-answer.ts';
import { cachedAnswer } from '../cached-answer.ts';
import { isComplete, readRange } from '../read-range.ts';
import { streamParam } from '../stream-param.ts';
import type { WindowRowView } from '../window-answer.ts';
import { answerWindows, regroups } from '../window-answer.ts';
import type { WindowsLookup } from '../windows-lookup.ts';
import { requestTarget } from '../windows-lookup.ts';
import { MAX_LIMIT } from '../windows-params.ts';
import type { WindowsRepo } from '../windows-repo.ts';
import type { QueryEnv } from './contract.ts';
import { bearer, errors, json, repeatable, StreamParam } from './contract.ts';

export { MAX_SCAN_ROWS } from '../read-range.ts';
export type { WindowRowView };

export interface WindowsResponse {
  readonly data: WindowRowView[];
  readonly watermark: string | null;
  readonly next_cursor: string | null;
}

export interface WindowsRouteDeps extends CacheDeps {
  readonly streams: StreamRegistry;
  readonly repo: WindowsRepo;
  readonly group: string;
  readonly topicPrefix: string;
  readonly now: () => number;
}

/** Query parameters: one string each, a list for the repeatable ones (and for any repeated). */
export function queryParams(c: Context, repeatable: readonly string[]): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(c.req.queries()).map(([name, values]) => [
      name,
      values.length === 1 && !repeatable.includes(name) ? (values[0] ?? '') : values,
    ]),
  );
}

/** The route's pattern: its metrics label and span name, here and on the hit path. */
export const WINDOWS_ROUTE = '/v1/streams/:stream/windows';

export function windowsHandler(deps: WindowsRouteDeps, lookup: WindowsLookup) {
  return async function getWindows(c: Context<QueryEnv>): Promise<Response> {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    // The key's tenant (requireScope set it): its windows and its cached answers only.
    const { tenant } = c.var.principal;
    const target = requestTarget(c.req.url);
    const known = lookup.kept(tenant, target);
    const query =
      known?.stream === stream
        ? { success: true as const, data: known }
        : lookup.parse(tenant, target, stream, queryParams(c, ['filter']));
    if (!query.success) return errorResponse(c, validationError(query.error, 'invalid query parameters'));
    const resolved = lookup.resolve(query.data, deps.now());
    if (!resolved.success)
      return errorResponse(c, validationError(resolved.error, 'invalid query parameters'));
    const { params: p, request } = resolved.data;
    const range = { from: request.from, to: request.to };
    return cachedAnswer(c, deps, request, async () => {
      const read = await readRange(deps, {
        tenant,
        stream,
        window: p.source.name,
        ...range,
        // Per-key rows answer with their stored values; only regrouping merges state.
        stateOf: regroups(stream, p) ? p.aggs : null,
      });
      if (!read.ok) return read;
      const { rows, watermark } = read.value;
      const page = answerWindows(stream, rows, p, watermark);
      const body: WindowsResponse = {
        data: page.data,
        watermark: watermark === null ? null : new Date(watermark).toISOString(),
        next_cursor: page.next_cursor,
      };
      // Complete: nothing provisional and the watermark past the whole range, so no new window
      // can appear in it; only an amendment (which bumps its bucket's generation) changes it.
      return ok({ body, watermark, complete: isComplete(watermark, range.to, body.data) });
    });
  };
}

export const Status = z.enum(['provisional', 'settled', 'amended']).openapi('WindowStatus', {
  description:
    'provisional: the watermark has not passed the window end yet; settled: final; amended: changed by late events after it settled (version > 1)',
});
export const Values = z.record(z.string(), z.number().nullable()).openapi('Values');

const WindowRow = z
  .object({
    window_start: z.string(),
    window_end: z.string(),
    key: z.string().nullable(),
    keys: z.record(z.string(), z.string()),
    values: Values,
    status: Status,
    version: z.number().int(),
    trace_id: z.string().nullable(),
  })
  .openapi('WindowRow');

export const WindowsResponseSchema = z
  .object({ data: z.array(WindowRow), watermark: z.string().nullable(), next_cursor: z.string().nullable() })
  .openapi('WindowsResponse');

export const instant = (what: string) =>
  z
    .string()
    .optional()
    .openapi({
      description: `${what}: RFC 3339 (years 0001 to 9999), epoch ms, or relative like -15m or now`,
    });

export const WINDOWS = createRoute({
  method: 'get',
  path: '/v1/streams/{stream}/windows',
  summary: "Window rows of the key's tenant, by key or rolled up, with status, version and the watermark",
  ...bearer('windows:read'),
  request: {
    params: StreamParam,
    query: z.object({
      window: z.string().optional().openapi({
        description:
          'A declared window (1m, 5m/1m, session:10m), or a roll-up size up to 366d that is a multiple of a declared tumbling window (5m, 1h, 1d). Default: the first declared window',
      }),
      from: instant('Start of the range (window starts at or after it); default an hour before to'),
      to: instant('End of the range (window starts before it); default now'),
      group_by: z.string().optional().openapi({
        description: "Key fields, comma-separated, or 'none' to roll every key up. Default: the whole key",
      }),
      filter: repeatable(
        'key=value, repeatable up to 100 times (the same key repeated keeps any of its values); a value is 1,024 characters at most',
      ),
      aggs: z
        .string()
        .optional()
        .openapi({ description: 'Aggregations to return, comma-separated; default all' }),
      tz: z
        .string()
        .optional()
        .openapi({ description: 'IANA zone: roll-ups of whole days start at local midnight' }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_LIMIT)
        .optional()
        .openapi({ description: 'Rows per page (default 1000)' }),
      cursor: z.string().optional().openapi({ description: 'next_cursor of the previous page' }),
    }),
    headers: z.object({ 'if-none-match': z.string().optional() }),
  },
  responses: {
    200: json(WindowsResponseSchema, 'A page of rows (ETag, X-Watermark and X-Cache headers)'),
    304: { description: 'Unchanged since the ETag given in If-None-Match' },
    ...errors,
  },
});
