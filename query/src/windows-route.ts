// GET /v1/streams/{stream}/windows: window rows {window_start, window_end, key, keys, values,
// status, version, trace_id} with the watermark and a cursor to the next page, cached in Redis.
// A hit this process can answer without I/O never gets here: the hit path answers it before Hono
// (hit-path.ts), with the same lookup (windows-lookup.ts) and the same headers.

import type { AuthVariables } from '@sluice/shared/auth/require-key';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { ok } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import type { CacheDeps } from './cached-answer.ts';
import { cachedAnswer } from './cached-answer.ts';
import { isComplete, readRange } from './read-range.ts';
import { streamParam } from './stream-param.ts';
import type { WindowRowView } from './window-answer.ts';
import { answerWindows, regroups } from './window-answer.ts';
import type { WindowsLookup } from './windows-lookup.ts';
import { requestTarget } from './windows-lookup.ts';
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
  return async function getWindows(c: Context<{ Variables: AuthVariables }>): Promise<Response> {
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
