// The query app in this process (Node) on the real PostgreSQL and Redis of an isolated test
// database, with window rows the test writes itself: every number in them is known to the test.

import { createAdmission } from '@sluice/shared/auth/admission';
import type { Auth } from '@sluice/shared/auth/require-key';
import { generationKeyPrefix } from '@sluice/shared/cache/window-generations';
import type { DbHandle } from '@sluice/shared/db/client';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { createLogger } from '@sluice/shared/log';
import { streamRegistry, topicNames } from '@sluice/shared/streams/registry';
import { secretBox } from '@sluice/shared/webhooks/secret-box';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { createCacheInvalidator } from '../../processor/src/notify/cache-invalidation.ts';
import { stackEnv } from '../../shared/test/harness.ts';
import type { Isolation } from '../../shared/test/services.ts';
import { deleteRedisKeys, isolate } from '../../shared/test/services.ts';
import { createQueryApp } from '../src/app.ts';
import { DEFAULT_BUCKET_ROWS, withBucketRows } from '../src/bucket-rows.ts';
import { coalescedReads } from '../src/coalesced-reads.ts';
import type { GenerationWatch } from '../src/generation-watch.ts';
import { watchGenerations } from '../src/generation-watch.ts';
import type { HealthRepo } from '../src/health-repo.ts';
import { createHealthRepo } from '../src/health-repo.ts';
import { withLocalTier } from '../src/local-cache.ts';
import { createQueryMetrics } from '../src/metrics.ts';
import { createQueryDb } from '../src/query-db.ts';
import type { ResponseCache } from '../src/response-cache.ts';
import { createResponseCache } from '../src/response-cache.ts';
import { withSharedWatermarkReads } from '../src/watermark-reads.ts';
import type { WindowsRepo } from '../src/windows-repo.ts';
import { createWindowsRepo } from '../src/windows-repo.ts';
import type { SeededRow } from './seed-windows.ts';
import { writeWindows } from './seed-windows.ts';

export type { Sale, SeededRow } from './seed-windows.ts';

/** The cache Redis the stack runs beside the state one (`./sluice test` exports its URL). */
export function cacheRedisUrlOf(): string {
  const url = process.env.SLUICE_CACHE_REDIS_URL;
  if (url === undefined || url === '')
    throw new Error('SLUICE_CACHE_REDIS_URL is not set: run the query tests through ./sluice test');
  return url;
}

export interface QueryHarness {
  readonly app: ReturnType<typeof createQueryApp>;
  readonly iso: Isolation;
  readonly db: DbHandle;
  /** The state Redis (generation counters, live feed). */
  readonly redis: Redis;
  /** The cache Redis (response entries only). */
  readonly cacheRedis: Redis;
  /** Pushed invalidation of generation counters, when started with `pushInvalidation`. */
  readonly watch: GenerationWatch | undefined;
  /** Generation counter reads (MGETs) the in-process tier sent so far. */
  counterReads(): number;
  /**
   * Cache lookups the windows route made so far: a request the hit path answered (before Hono)
   * makes none, one that reached the route makes one.
   */
  routeLookups(): number;
  readonly group: string;
  /** What the processor does after committing an amendment: bump its window's hour generation. */
  bumpGeneration(windowStart: number): Promise<void>;
  /** Writes rows (their values from the real aggregator) and the partition watermark. */
  write(rows: readonly SeededRow[], watermark: number | null): Promise<void>;
  close(): Promise<void>;
}

/** The cache as it is, counting its lookups (get) and nothing else. */
function countingLookups(cache: ResponseCache, counted: () => void): ResponseCache {
  return {
    ...(cache.peek === undefined ? {} : { peek: cache.peek.bind(cache) }),
    get: (key, generationKeys) => {
      counted();
      return cache.get(key, generationKeys);
    },
    set: cache.set.bind(cache),
  };
}

export async function startQuery(
  label: string,
  options: {
    provisionalTtlSeconds?: number;
    pushInvalidation?: boolean;
    now?: () => number;
    /** Live clients of one address at most (default: the global cap, 5). */
    maxLiveClientsPerAddress?: number;
    /** PostgreSQL's statement_timeout of the app's pool (the service's default, 5 s, otherwise). */
    statementTimeoutMs?: number;
    /** Wraps the app's repository (a test's hook into its reads of PostgreSQL). */
    wrapRepo?: (repo: WindowsRepo, db: DbHandle) => WindowsRepo;
    /** Rows of final hours kept in process (the service's default; 0: every read to PostgreSQL). */
    bucketRows?: number;
    /** Wraps the health route's repository (a test's hook into its reads). */
    wrapHealthRepo?: (repo: HealthRepo) => HealthRepo;
    /** Wraps the service's cache tiers (a test's fault injection). */
    wrapCache?: (cache: ResponseCache) => ResponseCache;
    /** Who calls (default: auth off, everyone the tenant 'default'). */
    auth?: Auth;
    /** Leases of limited keys' budgets, as the service has (none: every limited ask to Redis). */
    leaseMs?: number;
  } = {},
): Promise<QueryHarness> {
  const iso = await isolate(label);
  // Migrations on a pool of their own: the app's pool is the service's, statement timeout and all.
  const migrator = createDb({ url: iso.databaseUrl, applicationName: `${label}-migrate`, maxConnections: 1 });
  await applyMigrations(migrator.db);
  await migrator.close();
  const db = createQueryDb({
    url: iso.databaseUrl,
    applicationName: `${label}-test`,
    maxConnections: 10,
    statementTimeoutMs: options.statementTimeoutMs ?? 5_000,
  });
  const redis = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
  const cacheRedisUrl = cacheRedisUrlOf();
  const cacheRedis = new Redis(cacheRedisUrl, { maxRetriesPerRequest: 1 });
  const http = createHttpMetrics('sluice-query-test');
  const cachePrefix = iso.env.SLUICE_CACHE_PREFIX ?? `${label}:`;
  const watch =
    options.pushInvalidation === true
      ? watchGenerations(redis, {
          prefix: generationKeyPrefix(cachePrefix),
          pingIntervalMs: 500,
          connectionName: `${label}-watch`,
        })
      : undefined;
  let counterReads = 0;
  let routeLookups = 0;
  const group = `${label}-group`;
  // The service's own two tiers: in-process in front of Redis.
  const tiers = withLocalTier(
    createResponseCache(
      { entries: cacheRedis, generations: redis },
      {
        prefix: cachePrefix,
        settledTtlSeconds: 3_600,
        provisionalTtlSeconds: options.provisionalTtlSeconds ?? 2,
      },
    ),
    {
      ...(watch === undefined ? {} : { watch }),
      // One MGET per event-loop turn for all the hits of that turn.
      readGenerations: coalescedReads(
        (keys) => {
          counterReads += 1;
          return redis.mget(...keys);
        },
        { maxKeys: 1_000 },
      ),
      maxEntries: 100,
      maxBytes: 16 * 1024 * 1024,
      settledTtlMs: 3_600_000,
      provisionalTtlMs: (options.provisionalTtlSeconds ?? 2) * 1_000,
      now: Date.now,
    },
  );
  const app = createQueryApp({
    log: createLogger('test', 'silent'),
    http,
    streams: streamRegistry(),
    // As the service has it: final hours kept in process in front of PostgreSQL (bucket-rows.ts),
    // and watermark reads shared while under way (watermark-reads.ts).
    repo: withBucketRows(
      withSharedWatermarkReads(options.wrapRepo?.(createWindowsRepo(db.db), db) ?? createWindowsRepo(db.db)),
      {
        cachePrefix,
        readGenerations: (keys) => redis.mget(...keys),
        maxRows: options.bucketRows ?? DEFAULT_BUCKET_ROWS,
      },
    ),
    healthRepo: options.wrapHealthRepo?.(createHealthRepo(db.db)) ?? createHealthRepo(db.db),
    cache: countingLookups(options.wrapCache?.(tiers) ?? tiers, () => {
      routeLookups += 1;
    }),
    cachePrefix,
    ...createQueryMetrics(http.registry),
    group,
    topicPrefix: iso.topicPrefix,
    redis,
    maxClients: 5,
    maxClientsPerAddress: options.maxLiveClientsPerAddress ?? 5,
    blockMs: 1_000,
    jaegerUiUrl: 'http://127.0.0.1:16686',
    sampleRatio: 1,
    // The data-path tests run as the services' tests do, with auth off (the default tenant); the
    // auth tests run the real service with SLUICE_AUTH=on (auth.test.ts).
    auth: options.auth ?? { mode: 'off', verify: () => undefined },
    admission: createAdmission(redis, {
      prefix: cachePrefix,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    }),
    opsOpen: true,
    keyDb: db.db,
    secretBox: secretBox(process.env.SLUICE_SECRETS_KEY),
    now: options.now ?? Date.now,
    ready: async () => true,
  });
  const topic = topicNames('ecommerce', iso.topicPrefix).events;
  return {
    app,
    iso,
    db,
    redis,
    cacheRedis,
    watch,
    counterReads: () => counterReads,
    routeLookups: () => routeLookups,
    group,
    async bumpGeneration(windowStart) {
      // The processor's own invalidator, so the test bumps exactly the key the processor would.
      const invalidator = createCacheInvalidator({
        redis,
        prefix: cachePrefix,
        log: createLogger('test', 'silent'),
        bumps: new Counter({
          name: 'test_bumps',
          help: 'bumps',
          labelNames: ['outcome'] as const,
          registers: [],
        }),
      });
      invalidator.amended([{ tenant: 'default', stream: 'ecommerce', window: '1m', start: windowStart }]);
      await invalidator.flush();
    },
    write: (rows, watermark) => writeWindows(db.db, rows, { group, topic, watermark }),
    async close() {
      await watch?.close();
      await redis.quit();
      await cacheRedis.quit();
      await deleteRedisKeys(cacheRedisUrl, `${cachePrefix}*`);
      await db.close();
      await iso.cleanup();
    },
  };
}
