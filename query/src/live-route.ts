// GET /v1/streams/{stream}/live: Server-Sent Events, one `windows` event per processor commit,
// its data the array of window updates the commit wrote (read from the stream's live feed, a
// Redis Stream). The event id is the feed entry's id: a client that reconnects with Last-Event-ID
// gets every commit after it that the feed still holds, and a `gap` event first when some were
// trimmed (then it re-reads the API).
// Each client holds one Redis connection for its blocking reads; their number is bounded (503).

import { DEFAULT_TENANT } from '@sluice/shared/events/envelope';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { feedKey } from '@sluice/shared/live/window-updates';
import { appError } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Redis } from 'ioredis';
import type { Gauge } from 'prom-client';
import { streamParam } from './stream-param.ts';

export interface LiveRouteDeps {
  readonly streams: StreamRegistry;
  readonly redis: Redis;
  readonly cachePrefix: string;
  readonly maxClients: number;
  /** How long one blocking read waits; a keep-alive comment goes out after each empty one. */
  readonly blockMs: number;
  readonly liveClients: Gauge;
}

const ENTRY_ID = /^\d+-\d+$/;

/** Redis Stream ids compare as (ms, seq) pairs. */
function idBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

type Entries = [id: string, fields: string[]][];

export function liveHandler(deps: LiveRouteDeps) {
  let clients = 0;
  return async function getLive(c: Context): Promise<Response> {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const resumeFrom = c.req.header('last-event-id') ?? c.req.query('last_event_id');
    if (resumeFrom !== undefined && !ENTRY_ID.test(resumeFrom))
      return errorResponse(
        c,
        appError('validation_failed', 'Last-Event-ID is not an id this stream gave out'),
      );
    const onlyWindow = c.req.query('window');
    if (onlyWindow !== undefined && !stream.windows.some((w) => w.name === onlyWindow))
      return errorResponse(
        c,
        appError(
          'validation_failed',
          `window must be one of: ${stream.windows.map((w) => w.name).join(', ')}`,
        ),
      );
    // Guarantee 5 (bounded resources): one connection per client, so clients are capped.
    if (clients >= deps.maxClients)
      return errorResponse(c, appError('unavailable', 'too many live clients', { retryAfterSeconds: 5 }));
    // The slot is taken before any await, so concurrent connections cannot pass the cap together.
    clients += 1;
    deps.liveClients.set(clients);
    const key = feedKey(deps.cachePrefix, DEFAULT_TENANT, stream.name);
    // The client's own connection does the first reads too: it queues commands while it connects,
    // where the shared one (no offline queue) would refuse them right after a start.
    const reader = deps.redis.duplicate({ maxRetriesPerRequest: 1, enableOfflineQueue: true });
    reader.on('error', () => {});
    let after: string;
    let gap = false;
    try {
      if (resumeFrom === undefined) {
        const last = (await reader.xrevrange(key, '+', '-', 'COUNT', 1)) as Entries;
        after = last[0]?.[0] ?? '0-0';
      } else {
        const first = (await reader.xrange(key, '-', '+', 'COUNT', 1)) as Entries;
        const firstId = first[0]?.[0];
        // Entries between the client's last one and the oldest still held were trimmed.
        gap = firstId !== undefined && idBefore(resumeFrom, firstId) && resumeFrom !== '0-0';
        after = resumeFrom;
      }
    } catch {
      reader.disconnect();
      clients -= 1;
      deps.liveClients.set(clients);
      return errorResponse(
        c,
        appError('unavailable', 'the live feed (Redis) is not reachable', { retryAfterSeconds: 2 }),
      );
    }
    return streamSSE(c, async (sse) => {
      let open = true;
      sse.onAbort(() => {
        open = false;
        reader.disconnect();
      });
      try {
        await sse.writeSSE({ event: 'ready', data: JSON.stringify({ stream: stream.name, after }) });
        if (gap) await sse.writeSSE({ event: 'gap', data: JSON.stringify({ after: resumeFrom }) });
        while (open) {
          const read = (await reader.xread('COUNT', 500, 'BLOCK', deps.blockMs, 'STREAMS', key, after)) as
            | [string, Entries][]
            | null;
          const entries = read?.[0]?.[1] ?? [];
          if (entries.length === 0) await sse.write(': keep-alive\n\n');
          for (const [id, fields] of entries) {
            after = id;
            const raw = fields[1];
            if (raw === undefined) continue;
            let data = raw;
            if (onlyWindow !== undefined) {
              const updates = (JSON.parse(raw) as WindowUpdate[]).filter((u) => u.window === onlyWindow);
              if (updates.length === 0) continue;
              data = JSON.stringify(updates);
            }
            await sse.writeSSE({ event: 'windows', id, data });
          }
        }
      } catch {
        // The client left (its reader was disconnected) or Redis went away: the client reconnects
        // with Last-Event-ID and resumes.
      } finally {
        clients -= 1;
        deps.liveClients.set(clients);
        reader.disconnect();
      }
    });
  };
}
