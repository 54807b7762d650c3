// Composition root of sluice-query (Bun by default, Node works too): config, PostgreSQL, Redis,
// app, server, drain.

import { createAdmission } from '@sluice/shared/auth/admission';
import { startServiceAuth } from '@sluice/shared/auth/service-auth';
import { generationKeyPrefix } from '@sluice/shared/cache/window-generations';
import { loadConfig } from '@sluice/shared/config';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { serveHttp } from '@sluice/shared/http/serve';
import { closeAll, onShutdown, processConfigOptions } from '@sluice/shared/lifecycle';
import { createLogger } from '@sluice/shared/log';
import { createRedis, isCluster } from '@sluice/shared/redis/client';
import { mgetAnySlot } from '@sluice/shared/redis/slots';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { startNodeTracing } from '@sluice/shared/telemetry/node-tracing';
import { secretBox } from '@sluice/shared/webhooks/secret-box';
import { createQueryApp } from './app.ts';
import { withBucketRows } from './bucket-rows.ts';
import { coalescedReads } from './coalesced-reads.ts';
import { queryConfigSchema } from './config.ts';
import { watchGenerations } from './generation-watch.ts';
import { createHealthRepo } from './health-repo.ts';
import { withLocalTier } from './local-cache.ts';
import { createQueryMetrics } from './metrics.ts';
import { createQueryDb } from './query-db.ts';
import { createResponseCache } from './response-cache.ts';
import { withSharedWatermarkReads } from './watermark-reads.ts';
import { createWindowsRepo } from './windows-repo.ts';

const config = loadConfig('sluice-query', queryConfigSchema, processConfigOptions());
const log = createLogger('sluice-query', config.logLevel);
// The tracer provider runs on Bun too (context through AsyncLocalStorage); Bun.serve is not
// instrumented, so the app makes its SERVER spans itself (traceRequests).
const tracing = startNodeTracing({
  serviceName: 'sluice-query',
  endpoint: config.otlpEndpoint,
  sampleRatio: config.sampleRatio,
});
const db = createQueryDb({
  url: config.databaseUrl,
  applicationName: 'sluice-query',
  maxConnections: 10,
  statementTimeoutMs: config.statementTimeoutMs,
});
const redis = createRedis(
  config.redisUrl,
  { maxRetriesPerRequest: 1, enableOfflineQueue: false },
  config.redisCaFile,
);
redis.on('error', (error: Error) => log.warn({ error: error.message }, 'redis error'));
// The response cache's own instance (it evicts): entries only; counters stay in the state Redis.
const cacheRedis = createRedis(
  config.cacheRedisUrl,
  { maxRetriesPerRequest: 1, enableOfflineQueue: false },
  config.redisCaFile,
);
cacheRedis.on('error', (error: Error) => log.warn({ error: error.message }, 'cache redis error'));
// Keys from PostgreSQL (in memory, revocations within ~1 s), or everyone 'default' with auth off.
const auth = await startServiceAuth({
  mode: config.auth.mode,
  sql: db.sql,
  dailyEventsQuota: config.auth.dailyEventsQuota,
  warn: (message) => log.warn(message),
  onError: (error) => log.warn({ err: error }, 'key table reload failed'),
});
// Rate limits and usage in the STATE Redis (never evicted), under the cache prefix the processors
// and every other query process share: one budget per key across all of them.
// Leases (leases.ts): a busy limited key is judged in Redis once per lease, not per request.
const admission = createAdmission(redis, { prefix: config.cache.prefix, leaseMs: 250 });
const http = createHttpMetrics('sluice-query');
// Amendments reach this process's cached answers pushed, so a hit mostly needs no Redis read. Not
// on a Redis Cluster: tracking is per node, so a hit there reads its generations (one MGET per slot).
const watch =
  config.cache.pushInvalidation && !isCluster(redis)
    ? watchGenerations(redis, {
        prefix: generationKeyPrefix(config.cache.prefix),
        pingIntervalMs: 1_000,
        log: (message) => log.warn(message),
      })
    : undefined;
// One MGET per event-loop turn for all the generation reads of that turn (hits and kept buckets).
const readGenerations = coalescedReads((keys) => mgetAnySlot(redis, keys), { maxKeys: 1_000 });
const cache = withLocalTier(createResponseCache({ entries: cacheRedis, generations: redis }, config.cache), {
  ...(watch === undefined ? {} : { watch }),
  readGenerations,
  maxEntries: config.cache.localMaxEntries,
  maxBytes: config.cache.localMaxBytes,
  settledTtlMs: config.cache.settledTtlSeconds * 1_000,
  provisionalTtlMs: config.cache.provisionalTtlSeconds * 1_000,
  now: Date.now,
});
const app = createQueryApp({
  log,
  http,
  streams: streamRegistry(),
  // Final hours of rows kept in process (a cold miss over settled history reads no PostgreSQL),
  // and one watermark read shared by the misses that ask while it is under way.
  repo: withBucketRows(withSharedWatermarkReads(createWindowsRepo(db.db)), {
    cachePrefix: config.cache.prefix,
    readGenerations,
    maxRows: config.cache.bucketRows,
  }),
  healthRepo: createHealthRepo(db.db),
  cache,
  cachePrefix: config.cache.prefix,
  ...createQueryMetrics(http.registry),
  group: config.group,
  topicPrefix: config.topicPrefix,
  redis,
  maxClients: config.live.maxClients,
  maxClientsPerAddress: config.live.maxClientsPerAddress,
  blockMs: config.live.blockMs,
  jaegerUiUrl: config.jaegerUiUrl,
  sampleRatio: config.sampleRatio,
  auth,
  admission,
  opsOpen: config.auth.opsOpen,
  keyDb: db.db,
  secretBox: secretBox(config.secretsKey),
  now: Date.now,
  ready: async () => {
    try {
      await Promise.all([db.sql`select 1`, redis.ping()]);
      return true;
    } catch {
      return false;
    }
  },
});
const server = await serveHttp(app.fetch, { hostname: config.host, port: config.port });
log.info({ host: config.host, port: server.port, runtime: server.runtime }, 'listening');

onShutdown(
  async () => {
    await server.close();
    await closeAll([
      async () => watch?.close(),
      // The key table UNLISTENs on the pool: it closes before the pool ends, or the UNLISTEN is
      // written to a destroyed connection and the drain fails.
      async () => {
        await auth.close();
        await db.close();
      },
      () => redis.quit(),
      () => cacheRedis.quit(),
      () => tracing.shutdown(),
    ]);
  },
  { log: (message, fields) => log.info(fields ?? {}, message) },
);
