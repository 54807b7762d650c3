// GET /v1/streams/{stream}/windows: window rows {window_start, window_end, key, keys, values,
// status, version, trace_id} with the watermark and a cursor to the next page, cached in Redis.

import { generationKeys } from '@sluice/shared/cache/window-generations';
import { DEFAULT_TENANT } from '@sluice/shared/events/envelope';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { ok } from '@sluice/shared/result';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import type { CacheDeps } from './cached-answer.ts';
import { cachedAnswer } from './cached-answer.ts';
import { isComplete, readRange } from './read-range.ts';
import { streamParam } from './stream-param.ts';
import { bucketEnd, bucketStart } from './time-buckets.ts';
import type { WindowRowView } from './window-answer.ts';
import { answerWindows, regroups } from './window-answer.ts';
import type { WindowsParams, WindowsQuery } from './windows-params.ts';
import { parseWindowsQuery, resolveWindowsParams } from './windows-params.ts';
import type { WindowsRepo } from './windows-repo.ts';

export { MAX_SCAN_ROWS } from './read-range.ts';
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

/** The source windows' starts to read: whole buckets starting in [from, to) when rolling up. */
export function sourceRange(p: WindowsParams): { from: number; to: number } {
  if (p.rollUp === null) return { from: p.from, to: p.to };
  let first = bucketStart(p.from, p.rollUp);
  if (first < p.from) first = bucketEnd(first, p.rollUp);
  const last = bucketStart(p.to - 1, p.rollUp);
  return { from: first, to: Math.max(first, bucketEnd(last, p.rollUp)) };
}

/** What a cache key holds besides the range: the same for every request of one query string. */
const keyStem = (stream: string, p: WindowsParams, tenant: string) =>
  [
    tenant,
    stream,
    p.window,
    p.rollUp?.tz ?? '',
    p.groupBy.join(','),
    [...p.filter]
      .map(([f, v]) => `${f}=${[...v].sort().join('|')}`)
      .sort()
      .join('&'),
    p.aggs.map((a) => a.name).join(','),
    p.limit,
    p.cursor === null ? '' : `${p.cursor.start}:${p.cursor.key}`,
  ].join('|');

/** Query parameters: one string each, a list for the repeatable ones (and for any repeated). */
export function queryParams(c: Context, repeatable: readonly string[]): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(c.req.queries()).map(([name, values]) => [
      name,
      values.length === 1 && !repeatable.includes(name) ? (values[0] ?? '') : values,
    ]),
  );
}

/** A valid query string as parsed, with the cache key of the range it last resolved to. */
interface KeptQuery {
  readonly q: WindowsQuery;
  stem: string | undefined;
  last: { from: number; to: number; key: string; generationKeys: readonly string[] | null } | undefined;
}

/** Distinct valid queries whose parse a handler keeps (the least recently asked goes first). */
export const KEPT_QUERIES = 1_000;

export function windowsHandler(deps: WindowsRouteDeps) {
  // A dashboard asks the same query strings again and again, and validating one (zod) is most of a
  // cache hit's own work: the parse is kept by stream and raw query string, for a bounded number
  // of them. Only the parse: relative times are resolved against the clock on every request.
  const kept = new Map<string, KeptQuery>();
  const parseQuery = (c: Context, stream: StreamDefinition) => {
    const url = c.req.url;
    const at = url.indexOf('?');
    const raw = `${stream.name}${at === -1 ? '' : url.slice(at)}`;
    const known = kept.get(raw);
    if (known !== undefined) {
      kept.delete(raw);
      kept.set(raw, known);
      return { success: true as const, data: known };
    }
    const parsed = parseWindowsQuery(stream, queryParams(c, ['filter']));
    if (!parsed.success) return parsed;
    const query: KeptQuery = { q: parsed.data, stem: undefined, last: undefined };
    kept.set(raw, query);
    for (const oldest of kept.keys()) {
      if (kept.size <= KEPT_QUERIES) break;
      kept.delete(oldest);
    }
    return { success: true as const, data: query };
  };
  return async function getWindows(c: Context): Promise<Response> {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const query = parseQuery(c, stream);
    if (!query.success) return errorResponse(c, validationError(query.error, 'invalid query parameters'));
    const asked = query.data;
    const parsed = resolveWindowsParams(stream, asked.q, deps.now());
    if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid query parameters'));
    const p = parsed.data;
    const tenant = DEFAULT_TENANT;
    const range = sourceRange(p);
    const scope = { tenant, stream: stream.name, window: p.source.name };
    // An absolute range resolves the same every time: its key and generation keys are kept too.
    asked.stem ??= keyStem(stream.name, p, tenant);
    if (asked.last?.from !== range.from || asked.last.to !== range.to)
      asked.last = {
        ...range,
        key: `${asked.stem}|${range.from}|${range.to}`,
        generationKeys: generationKeys(deps.cachePrefix, scope, range.from, range.to),
      };
    return cachedAnswer(
      c,
      deps,
      { key: asked.last.key, scope, ...range, generationKeys: asked.last.generationKeys },
      async () => {
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
      },
    );
  };
}
