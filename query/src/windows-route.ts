// GET /v1/streams/{stream}/windows: rows {window_start, window_end, key, values, status, version}
// with the watermark, an ETag (304 on If-None-Match) and X-Watermark, served from the Redis cache
// when it holds the same query.

import { createHash } from 'node:crypto';
import { generationKeys } from '@sluice/shared/cache/window-generations';
import type { WindowStatus } from '@sluice/shared/db/schema';
import type { StoredWindow } from '@sluice/shared/db/window-rows';
import { DEFAULT_TENANT } from '@sluice/shared/events/envelope';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { annotateRequest } from '@sluice/shared/http/trace-middleware';
import { appError } from '@sluice/shared/result';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { emptyState, merge, reviveState, valuesOf } from '@sluice/shared/streams/aggregate';
import type { AggSpec } from '@sluice/shared/streams/define';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { topicNames } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import type { Counter } from 'prom-client';
import type { ResponseCache } from './response-cache.ts';
import { parseWindowsParams } from './windows-params.ts';
import type { WindowsRepo } from './windows-repo.ts';

export interface WindowRowView {
  readonly window_start: string;
  readonly window_end: string;
  readonly key: string | null;
  readonly values: Record<string, number | null>;
  readonly status: WindowStatus;
  readonly version: number;
}

export interface WindowsResponse {
  readonly data: WindowRowView[];
  readonly watermark: string | null;
}

export interface WindowsRouteDeps {
  readonly streams: StreamRegistry;
  readonly repo: WindowsRepo;
  readonly cache: ResponseCache;
  /** Redis key prefix of the cache, shared with the processors that bump generations. */
  readonly cachePrefix: string;
  readonly cacheRequests: Counter<'result'>;
  readonly group: string;
  readonly topicPrefix: string;
  readonly now: () => number;
}

export function windowsHandler(deps: WindowsRouteDeps) {
  return async function getWindows(c: Context): Promise<Response> {
    const stream = deps.streams.get(c.req.param('stream') ?? '');
    if (stream === undefined)
      return errorResponse(c, appError('not_found', `unknown stream '${c.req.param('stream')}'`));
    const parsed = parseWindowsParams(stream, c.req.query(), deps.now());
    if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid query parameters'));
    const q = parsed.data;
    const tenant = DEFAULT_TENANT;
    const cacheKey = [tenant, stream.name, q.window, q.from, q.to, q.groupBy ?? '(none)', q.limit].join('|');

    const scope = { tenant, stream: stream.name, window: q.window };
    const lookup = await deps.cache.get(cacheKey, generationKeys(deps.cachePrefix, scope, q.from, q.to));
    let cached = lookup.hit;
    deps.cacheRequests.inc({ result: cached === undefined ? 'miss' : 'hit' });
    annotateRequest('sluice.cache', cached === undefined ? 'miss' : 'hit');
    if (cached === undefined) {
      const [rows, watermark] = await Promise.all([
        deps.repo.windows({
          tenant,
          stream: stream.name,
          window: q.window,
          from: q.from,
          to: q.to,
          limit: q.limit,
        }),
        deps.repo.watermark(deps.group, topicNames(stream.name, deps.topicPrefix).events),
      ]);
      const data = q.groupBy === null ? rollUp(rows, stream.aggregations) : rows.map(view);
      const response: WindowsResponse = {
        data,
        watermark: watermark === null ? null : new Date(watermark).toISOString(),
      };
      const body = JSON.stringify(response);
      cached = {
        body,
        etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
        watermark: response.watermark,
      };
      // Complete: nothing provisional, and the watermark is past the whole range, so no new window
      // can appear in it; only an amendment (which bumps its bucket's generation) changes this answer.
      const complete =
        watermark !== null && q.to <= watermark && data.every((row) => row.status !== 'provisional');
      await deps.cache.set(cacheKey, cached, lookup.generations, complete);
    }
    c.header('ETag', cached.etag);
    c.header('X-Watermark', cached.watermark ?? '');
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === cached.etag) return c.body(null, 304);
    return c.body(cached.body, 200, { 'content-type': 'application/json' });
  };
}

function view(row: StoredWindow): WindowRowView {
  return {
    window_start: new Date(row.start).toISOString(),
    window_end: new Date(row.end).toISOString(),
    key: row.key,
    values: row.values,
    status: row.status,
    version: row.version,
  };
}

const STATUS_RANK: Record<WindowStatus, number> = { settled: 0, amended: 1, provisional: 2 };

/** One row per window over every key: accumulators merge, the least complete status wins. */
function rollUp(rows: readonly StoredWindow[], aggs: readonly AggSpec[]): WindowRowView[] {
  const byStart = new Map<number, { end: number; state: AggState; status: WindowStatus; version: number }>();
  for (const row of rows) {
    const acc = byStart.get(row.start) ?? {
      end: row.end,
      state: emptyState(aggs),
      status: 'settled',
      version: 0,
    };
    // Sketches are revived only here, where keys merge; a per-key answer shows stored `values`.
    merge(acc.state, reviveState(row.state), aggs);
    if (STATUS_RANK[row.status] > STATUS_RANK[acc.status]) acc.status = row.status;
    acc.version = Math.max(acc.version, row.version);
    byStart.set(row.start, acc);
  }
  return [...byStart].map(([start, acc]) => ({
    window_start: new Date(start).toISOString(),
    window_end: new Date(acc.end).toISOString(),
    key: null,
    values: valuesOf(acc.state, aggs),
    status: acc.status,
    version: acc.version,
  }));
}
