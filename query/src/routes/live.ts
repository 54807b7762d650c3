// GET /v1/streams/{stream}/live: Server-Sent Events, one `windows` event per processor commit,
// its data the array of window updates the commit wrote (read from the stream's live feed, a
// Redis Stream). The event id is the feed entry's id: a client that reconnects with Last-Event-ID
// gets every commit after it that the feed still holds, and a `gap` event first when some were
// trimmed (then it re-reads the API).
// Each client holds one Redis connection for its blocking reads; their number is bounded, in all
// (503) and per client (429: its key with auth on, else its address), so one client cannot take
// every slot (client-address.ts). A tenant reads its own feed only: the feed key holds the tenant.
// With `?health=on` a `health` event (the stream's health answer for the key's tenant, its
// stream-wide part for an operator's key only) comes first and every HEALTH_EVERY_MS after, so the
// dashboard's health row is live over the same connection; every connection of a (stream, tenant,
// operator or not) gets the same snapshot, read at most once per interval (health-snapshots.ts).

import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { feedKey } from '@sluice/shared/live/window-updates';
import type { RedisClient } from '@sluice/shared/redis/client';
import { duplicateRedis } from '@sluice/shared/redis/client';
import { appError } from '@sluice/shared/result';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Gauge } from 'prom-client';
import { clientIdentity } from '../client-address.ts';
import { seesWholeStream } from '../operator-view.ts';
import { streamParam } from '../stream-param.ts';
import type { QueryEnv } from './contract.ts';
import { bearer, ErrorEnvelope, errors, json, StreamParam } from './contract.ts';

export interface LiveRouteDeps {
  readonly streams: StreamRegistry;
  readonly redis: RedisClient;
  readonly cachePrefix: string;
  readonly maxClients: number;
  /** Live clients of one client (its key, or its remote address with auth off) at most. */
  readonly maxClientsPerAddress: number;
  /** How long one blocking read waits; a keep-alive comment goes out after each empty one. */
  readonly blockMs: number;
  readonly liveClients: Gauge;
  /**
   * The stream's health answer for a tenant, with the stream-wide figures for an operator's key
   * (stream-health.ts), sent as a `health` event every HEALTH_EVERY_MS to a client that asks with
   * `?health=on` (the dashboard's health row). A shared snapshot (health-snapshots.ts): it never
   * rejects; undefined when it could not be read (logged there), and that event is skipped.
   */
  readonly health?: (stream: StreamDefinition, tenant: string, operator: boolean) => Promise<unknown>;
}

/** How often a `health` event goes to a client that asked for them (one shared snapshot each time). */
export const HEALTH_EVERY_MS = 5_000;

const ENTRY_ID = /^(\d{1,20})-(\d{1,20})$/;
const MAX_ID_PART = 2n ** 64n - 1n;

/** A Redis Stream entry id (two unsigned 64-bit integers), as Redis itself would take it. */
function isEntryId(value: string): boolean {
  const match = ENTRY_ID.exec(value);
  return (
    match?.[1] !== undefined &&
    match[2] !== undefined &&
    BigInt(match[1]) <= MAX_ID_PART &&
    BigInt(match[2]) <= MAX_ID_PART
  );
}

/** Redis Stream ids compare as (ms, seq) pairs. */
function idBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

type Entries = [id: string, fields: string[]][];

export function liveHandler(deps: LiveRouteDeps) {
  let clients = 0;
  /** Live clients per remote address (an address leaves the map with its last client). */
  const perAddress = new Map<string, number>();
  const release = (address: string) => {
    clients -= 1;
    deps.liveClients.set(clients);
    const left = (perAddress.get(address) ?? 1) - 1;
    if (left <= 0) perAddress.delete(address);
    else perAddress.set(address, left);
  };
  const invalid = (c: Context<QueryEnv>, param: string, message: string) =>
    errorResponse(
      c,
      appError('validation_failed', `${param} ${message}`, { details: [{ path: param, message }] }),
    );
  return async function getLive(c: Context<QueryEnv>): Promise<Response> {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    for (const param of ['window', 'last_event_id', 'health'])
      if ((c.req.queries(param)?.length ?? 0) > 1) return invalid(c, param, 'is given more than once');
    const header = c.req.header('last-event-id');
    const resumeFrom = header ?? c.req.query('last_event_id');
    if (resumeFrom !== undefined && !isEntryId(resumeFrom))
      return invalid(
        c,
        header === undefined ? 'last_event_id' : 'Last-Event-ID',
        'is not an id this stream gave out',
      );
    const withHealth = c.req.query('health');
    if (withHealth !== undefined && withHealth !== 'on' && withHealth !== 'off')
      return invalid(c, 'health', 'must be on or off');
    const healthOf = withHealth === 'on' ? deps.health : undefined;
    const onlyWindow = c.req.query('window');
    if (onlyWindow !== undefined && !stream.windows.some((w) => w.name === onlyWindow))
      return invalid(c, 'window', `must be one of: ${stream.windows.map((w) => w.name).join(', ')}`);
    // Guarantee 5 (bounded resources): one connection per client, so clients are capped, in all
    // and per address (one client's burst cannot take every slot).
    if (clients >= deps.maxClients)
      return errorResponse(c, appError('unavailable', 'too many live clients', { retryAfterSeconds: 5 }));
    const { principal } = c.var;
    const address = clientIdentity(c.env, c.req.raw, principal);
    const ofAddress = perAddress.get(address) ?? 0;
    if (ofAddress >= deps.maxClientsPerAddress)
      return errorResponse(
        c,
        appError(
          'rate_limited',
          `too many live clients from one client (${deps.maxClientsPerAddress} at most)`,
          {
            retryAfterSeconds: 5,
          },
        ),
      );
    // The slot is taken before any await, so concurrent connections cannot pass the cap together.
    clients += 1;
    perAddress.set(address, ofAddress + 1);
    deps.liveClients.set(clients);
    const key = feedKey(deps.cachePrefix, principal.tenant, stream.name);
    // The client's own connection does the first reads too: it queues commands while it connects,
    // where the shared one (no offline queue) would refuse them right after a start.
    const reader = duplicateRedis(deps.redis, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
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
      release(address);
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
        let healthAt = Number.NEGATIVE_INFINITY;
        while (open) {
          // No id: a health event is a snapshot, nothing to resume; a failed read skips one.
          if (healthOf !== undefined && Date.now() - healthAt >= HEALTH_EVERY_MS) {
            healthAt = Date.now();
            const health = await healthOf(stream, principal.tenant, seesWholeStream(principal));
            if (health !== undefined) await sse.writeSSE({ event: 'health', data: JSON.stringify(health) });
          }
          // With health events the read waits no longer than the next one is due.
          const block =
            healthOf === undefined
              ? deps.blockMs
              : Math.max(1, Math.min(deps.blockMs, healthAt + HEALTH_EVERY_MS - Date.now()));
          const read = (await reader.xread('COUNT', 500, 'BLOCK', block, 'STREAMS', key, after)) as
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
        release(address);
        reader.disconnect();
      }
    });
  };
}

export const LIVE = createRoute({
  method: 'get',
  path: '/v1/streams/{stream}/live',
  summary: "Server-Sent Events: every window update of the key's tenant as the processors commit it",
  ...bearer('windows:read'),
  request: {
    params: StreamParam,
    query: z.object({
      window: z.string().optional().openapi({ description: 'Only updates of this declared window' }),
      last_event_id: z
        .string()
        .optional()
        .openapi({ description: 'Same as the Last-Event-ID header (a Redis Stream id, ms-seq)' }),
      health: z.enum(['on', 'off']).optional().openapi({
        description:
          'on: a `health` event (data: a StreamHealth, its `per_stream` null unless the key also holds `admin`) first and every 5 s after (a snapshot shared by every connection of the tenant, at most 5 s old)',
      }),
    }),
    headers: z.object({ 'last-event-id': z.string().optional() }),
  },
  responses: {
    200: {
      content: { 'text/event-stream': { schema: z.string() } },
      description:
        'event `ready` once, `gap` when updates after Last-Event-ID were trimmed, then one `windows` event per processor commit (id: the feed entry id; data: an array of {stream, window, window_start, window_end, key, values, status, version, trace_id, removed}); with health=on, `health` events (no id; data: a StreamHealth)',
    },
    ...errors,
    429: json(
      ErrorEnvelope,
      "Too many live clients of this key (of this address with auth off), or the key's requests per second used up (Retry-After)",
    ),
  },
});
