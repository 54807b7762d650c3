// Publishes committed window rows to the live feed (a Redis Stream per stream) for the query
// service's Server-Sent Events. It runs after the commit, so the feed never shows a window that
// PostgreSQL does not hold. The feed is a notification channel, not a record: with Redis away an
// update is dropped (counted and logged, memory stays bounded) and clients read the rows from the
// API, which the dashboard does on a reconnect or a gap.

import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { FEED_MAX_LEN, feedKey } from '@sluice/shared/live/window-updates';
import type { Logger } from '@sluice/shared/log';
import type { RedisClient } from '@sluice/shared/redis/client';
import { groupBySlot } from '@sluice/shared/redis/slots';
import type { Counter } from 'prom-client';
import type { WindowRef, WindowRowWrite } from '../stores/postgres-rows.ts';

export interface LiveFeed {
  /** Appends the rows one commit wrote and the windows it removed; never throws. */
  publish(
    rows: readonly WindowRowWrite[],
    removed: readonly WindowRef[],
    traceId: string | undefined,
  ): Promise<void>;
}

export interface LiveFeedDeps {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly log: Logger;
  readonly published: Counter<'outcome'>;
}

export function createLiveFeed(deps: LiveFeedDeps): LiveFeed {
  return {
    async publish(rows, removed, traceId) {
      if (rows.length === 0 && removed.length === 0) return;
      // One entry per stream and commit (a batch is one partition, so usually one stream).
      const byFeed = new Map<string, WindowUpdate[]>();
      const add = (tenant: string, update: WindowUpdate) => {
        const key = feedKey(deps.prefix, tenant, update.stream);
        const updates = byFeed.get(key);
        if (updates === undefined) byFeed.set(key, [update]);
        else updates.push(update);
      };
      const trace = traceId ?? null;
      const update = (
        w: WindowRef,
        end: number,
        rest: Pick<WindowUpdate, 'values' | 'status' | 'version' | 'removed'>,
      ) =>
        add(w.tenant, {
          stream: w.stream,
          window: w.window,
          window_start: new Date(w.start).toISOString(),
          window_end: new Date(end).toISOString(),
          key: w.key,
          ...rest,
          trace_id: trace,
        });
      for (const r of rows)
        update(r, r.end, { values: r.values, status: r.status, version: r.version, removed: false });
      // A session merged away: its row is gone (its end is not known here; it shows its start).
      for (const w of removed)
        update(w, w.start, { values: {}, status: 'settled', version: 0, removed: true });
      // One pipeline per Redis Cluster slot (one in all on a single Redis): feeds of different
      // tenants may live on different nodes.
      const feeds = groupBySlot(deps.redis, [...byFeed.entries()], ([key]) => key);
      const outcomes = await Promise.all(
        feeds.map(async (group) => {
          const pipeline = deps.redis.pipeline();
          for (const [key, updates] of group)
            pipeline.xadd(key, 'MAXLEN', '~', FEED_MAX_LEN, '*', 'u', JSON.stringify(updates));
          const count = group.reduce((n, [, updates]) => n + updates.length, 0);
          try {
            const results = await pipeline.exec();
            if (results === null || results.some(([error]) => error !== null))
              throw new Error('redis XADD failed');
            return { count, error: undefined };
          } catch (error) {
            return { count, error };
          }
        }),
      );
      for (const { count, error } of outcomes) {
        if (error === undefined) deps.published.inc({ outcome: 'ok' }, count);
        else {
          deps.published.inc({ outcome: 'dropped' }, count);
          deps.log.warn({ err: error, dropped: count }, 'live feed updates dropped (Redis away)');
        }
      }
    },
  };
}
