// The query app in this process (Node) on the real PostgreSQL and Redis of an isolated test
// database, with window rows the test writes itself: every number in them is known to the test.

import type { DbHandle } from '@sluice/shared/db/client';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import type { WindowStatus } from '@sluice/shared/db/schema';
import { sourceOffsets, windows } from '@sluice/shared/db/schema';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { createLogger } from '@sluice/shared/log';
import { accumulate, emptyState, storeState, valuesOf } from '@sluice/shared/streams/aggregate';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { streamRegistry, topicNames } from '@sluice/shared/streams/registry';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { stackEnv } from '../../shared/test/harness.ts';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate } from '../../shared/test/services.ts';
import { createQueryApp } from '../src/app.ts';
import { createResponseCache } from '../src/response-cache.ts';
import { createWindowsRepo } from '../src/windows-repo.ts';

export interface Sale {
  readonly category: string;
  readonly amount: number;
  readonly user: string;
  readonly time: number;
}

export interface SeededRow {
  readonly start: number;
  readonly category: string;
  readonly sales: Sale[];
  status: WindowStatus;
  version: number;
}

export interface QueryHarness {
  readonly app: ReturnType<typeof createQueryApp>;
  readonly iso: Isolation;
  readonly db: DbHandle;
  readonly redis: Redis;
  readonly group: string;
  /** Writes rows (their values from the real aggregator) and the partition watermark. */
  write(rows: readonly SeededRow[], watermark: number | null): Promise<void>;
  close(): Promise<void>;
}

export async function startQuery(
  label: string,
  options: { provisionalTtlSeconds?: number } = {},
): Promise<QueryHarness> {
  const iso = await isolate(label);
  const db = createDb({ url: iso.databaseUrl, applicationName: `${label}-test` });
  await applyMigrations(db.db);
  const redis = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
  const http = createHttpMetrics('sluice-query-test');
  const cachePrefix = iso.env.SLUICE_CACHE_PREFIX ?? `${label}:`;
  const group = `${label}-group`;
  const app = createQueryApp({
    log: createLogger('test', 'silent'),
    http,
    streams: streamRegistry(),
    repo: createWindowsRepo(db.db),
    cache: createResponseCache(redis, {
      prefix: cachePrefix,
      settledTtlSeconds: 3_600,
      provisionalTtlSeconds: options.provisionalTtlSeconds ?? 2,
    }),
    cachePrefix,
    cacheRequests: new Counter({
      name: 'sluice_query_cache_requests_total',
      help: 'cache',
      labelNames: ['result'] as const,
      registers: [http.registry],
    }),
    group,
    topicPrefix: iso.topicPrefix,
    redis,
    maxClients: 5,
    blockMs: 1_000,
    liveClients: new Gauge({ name: 'sluice_query_live_clients', help: 'live', registers: [http.registry] }),
    jaegerUiUrl: 'http://127.0.0.1:16686',
    now: Date.now,
    ready: async () => true,
  });
  const topic = topicNames('ecommerce', iso.topicPrefix).events;
  return {
    app,
    iso,
    db,
    redis,
    group,
    async write(rows, watermark) {
      for (const r of rows) {
        const state = emptyState(ecommerce.aggregations);
        for (const s of r.sales)
          accumulate(state, ecommerce.aggregations, {
            amount: s.amount,
            user_id: s.user,
            product_category: s.category,
          });
        const values = valuesOf(state, ecommerce.aggregations);
        const row = {
          tenant: 'default',
          stream: 'ecommerce',
          window: '1m',
          windowStart: new Date(r.start),
          windowEnd: new Date(r.start + 60_000),
          key: r.category,
          values,
          state: storeState(state),
          status: r.status,
          version: r.version,
          traceId: `${r.start.toString(16).padStart(32, '0')}`,
        };
        await db.db
          .insert(windows)
          .values(row)
          .onConflictDoUpdate({
            target: [windows.tenant, windows.stream, windows.window, windows.windowStart, windows.key],
            set: { values: row.values, state: row.state, status: row.status, version: row.version },
          });
      }
      await db.db
        .insert(sourceOffsets)
        .values({ consumerGroup: group, topic, partition: 0, nextOffset: 1n, epoch: 1, watermark })
        .onConflictDoUpdate({
          target: [sourceOffsets.consumerGroup, sourceOffsets.topic, sourceOffsets.partition],
          set: { watermark },
        });
    },
    async close() {
      await redis.quit();
      await db.close();
      await iso.cleanup();
    },
  };
}
