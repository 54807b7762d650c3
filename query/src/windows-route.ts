// GET /v1/streams/{stream}/windows: window rows {window_start, window_end, key, keys, values,
// status, version, trace_id} with the watermark and a cursor to the next page, cached in Redis.

import { DEFAULT_TENANT } from '@sluice/shared/events/envelope';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { ok } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import type { CacheDeps } from './cached-answer.ts';
import { cachedAnswer } from './cached-answer.ts';
import { isComplete, readRange } from './read-range.ts';
import { streamParam } from './stream-param.ts';
import { bucketEnd, bucketStart } from './time-buckets.ts';
import type { WindowRowView } from './window-answer.ts';
import { answerWindows, regroups } from './window-answer.ts';
import type { WindowsParams } from './windows-params.ts';
import { parseWindowsParams } from './windows-params.ts';
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

const cacheKeyOf = (stream: string, p: WindowsParams, tenant: string) =>
  [
    tenant,
    stream,
    p.window,
    p.rollUp?.tz ?? '',
    p.from,
    p.to,
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

export function windowsHandler(deps: WindowsRouteDeps) {
  return async function getWindows(c: Context): Promise<Response> {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const parsed = parseWindowsParams(stream, queryParams(c, ['filter']), deps.now());
    if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid query parameters'));
    const p = parsed.data;
    const tenant = DEFAULT_TENANT;
    const range = sourceRange(p);
    return cachedAnswer(
      c,
      deps,
      {
        key: cacheKeyOf(stream.name, p, tenant),
        scope: { tenant, stream: stream.name, window: p.source.name },
        ...range,
      },
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
