// Composition root of sluice-processor (Bun by default, or Node 24): config, telemetry, migrations, Kafka, the
// consumer loop, health and metrics, drain.

import { loadConfig } from '@sluice/shared/config';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import { serveHttp } from '@sluice/shared/http/serve';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import { kafkaLogTo } from '@sluice/shared/kafka/options';
import { closeAll, onShutdown, processConfigOptions } from '@sluice/shared/lifecycle';
import { createLogger } from '@sluice/shared/log';
import { createRedis } from '@sluice/shared/redis/client';
import { appError } from '@sluice/shared/result';
import { topicNames } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import { startNodeTracing } from '@sluice/shared/telemetry/node-tracing';
import { Hono } from 'hono';
import { processorConfigSchema } from './config.ts';
import { createProcessor } from './consumer-loop.ts';
import { createProcessorMetrics } from './health/metrics.ts';
import { createPartitionHealthReporter, healthPruneTo, healthWriteTo } from './health/partition-health.ts';
import { createStoreHealth } from './health/store-health.ts';
import { createCacheInvalidator } from './notify/cache-invalidation.ts';
import { createLiveFeed } from './notify/live-feed.ts';
import { createDedup } from './stores/dedup-claims.ts';
import { startPartitionMaintenance } from './stores/partition-maintenance.ts';
import { createWindowSink } from './stores/postgres-rows.ts';
import { createStateStore } from './stores/redis-state.ts';
import { streamsInUse } from './streams-in-use.ts';

const config = loadConfig('sluice-processor', processorConfigSchema, processConfigOptions());
const log = createLogger('sluice-processor', config.logLevel);
const tracing = startNodeTracing({
  serviceName: 'sluice-processor',
  endpoint: config.otlpEndpoint,
  sampleRatio: config.sampleRatio,
});
const db = createDb({ url: config.databaseUrl, applicationName: 'sluice-processor' });
// The processor owns the schema: it applies committed migrations before it writes any row.
await applyMigrations(db.db);

const streams = await streamsInUse({ names: config.streams, module: config.streamsModule });
// The window table's day partitions: made ahead, dropped past each stream's window retention.
const partitions = await startPartitionMaintenance({
  db: db.db,
  streams,
  aheadDays: config.partitionsAheadDays,
  intervalMs: config.partitionMaintenanceMs,
  log,
  now: Date.now,
});

const kafka = {
  brokers: config.kafkaBrokers,
  clientId: 'sluice-processor',
  log: kafkaLogTo(log),
  security: config.kafkaSecurity,
};
const clients = await kafkaClients(config.kafkaClient);
const admin = await clients.admin(kafka);
const topics = await admin.ensureTopics(streamTopicSpecs(streams, config.topicPrefix));
if (!topics.ok) throw new Error(`cannot ensure topics: ${topics.error.message}`);
await admin.close();

const redis = createRedis(
  config.redisUrl,
  { maxRetriesPerRequest: 1, enableOfflineQueue: false },
  config.redisCaFile,
);
// ioredis reports each failed reconnect: the same error is logged once a minute, not per attempt
// (a Redis away for an hour would otherwise write thousands of identical lines).
let lastRedisError = { message: '', at: 0, repeats: 0 };
redis.on('error', (error: Error) => {
  const now = Date.now();
  if (error.message === lastRedisError.message && now - lastRedisError.at < 60_000) {
    lastRedisError.repeats += 1;
    return;
  }
  log.warn({ error: error.message, repeats: lastRedisError.repeats }, 'redis error');
  lastRedisError = { message: error.message, at: now, repeats: 0 };
});
// Event-id claims and the working window state need Redis: give it a moment at start so the first
// batch need not retry. Without it the processor still starts; its batches wait and retry until
// Redis is back.
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, 5_000);
  redis.once('ready', () => {
    clearTimeout(timer);
    resolve();
  });
});

const streamsByTopic = new Map(streams.map((s) => [topicNames(s.name, config.topicPrefix).events, s]));
const metrics = createProcessorMetrics();
const storeHealth = createStoreHealth({ log, metrics, now: Date.now });
const processor = createProcessor({
  consumer: await clients.consumer({
    ...kafka,
    groupId: config.group,
    topics: [...streamsByTopic.keys()],
    maxBatchSize: config.maxBatch,
    concurrency: config.concurrency,
    sessionTimeoutMs: config.sessionTimeoutMs,
  }),
  producer: await clients.producer({ ...kafka, deliveryTimeoutMs: 30_000, maxQueuedRecords: 100_000 }),
  sink: createWindowSink(db.db),
  store: createStateStore({ redis, prefix: config.statePrefix }),
  dedup: createDedup({ redis, prefix: config.dedupPrefix }),
  invalidator: createCacheInvalidator({
    redis,
    prefix: config.cachePrefix,
    log,
    bumps: metrics.cacheBumps,
  }),
  live: config.liveUpdates
    ? createLiveFeed({ redis, prefix: config.cachePrefix, log, published: metrics.liveUpdates })
    : undefined,
  log,
  metrics,
  group: config.group,
  topicPrefix: config.topicPrefix,
  streamsByTopic,
  idleTimeoutMs: config.idleTimeoutMs,
  tickMs: config.tickMs,
  retryDelayMs: 1_000,
  now: Date.now,
  health: storeHealth,
  partitionHealth: createPartitionHealthReporter({
    write: healthWriteTo(db.db),
    // Rows nobody reported for a week: deleted on the first tick after start, then hourly.
    prune: healthPruneTo(db.db),
    group: config.group,
    intervalMs: config.healthIntervalMs,
    now: Date.now,
    log,
  }),
});

const health = new Hono<{ Variables: BaseVariables }>();
applyAppDefaults(health, { onUnexpected: (error) => log.error({ err: error }, 'unhandled error') });
// Liveness: the process answers. Readiness: its stores take its writes (a stall names its cause,
// e.g. Redis full: `oom`); batches wait and retry meanwhile, and it is ready again by itself.
health.get('/healthz', (c) => c.json({ status: 'ok' }));
health.get('/readyz', (c) => {
  const stalls = storeHealth.stalls();
  if (redis.status !== 'ready' && !stalls.some((s) => s.store === 'redis'))
    stalls.push({
      store: 'redis',
      cause: 'connection',
      reason: `redis connection ${redis.status}`,
      since: Date.now(),
    });
  if (stalls.length === 0) return c.json({ status: 'ready' });
  return errorResponse(
    c,
    appError('unavailable', `not ready: ${stalls.map((s) => `${s.store} ${s.cause}`).join(', ')}`, {
      details: { stalls: stalls.map((s) => ({ ...s, since: new Date(s.since).toISOString() })) },
      retryAfterSeconds: 1,
    }),
  );
});
// What `./sluice status` shows of each worker of a fleet: its runtime, process and the partitions
// it owns with their lag (127.0.0.1 by default, like /metrics).
const runtime =
  typeof process.versions.bun === 'string' ? `bun ${process.versions.bun}` : `node ${process.versions.node}`;
health.get('/status', (c) =>
  c.json({
    runtime,
    pid: process.pid,
    group: config.group,
    kafkaClient: clients.name,
    partitions: processor.owned(),
  }),
);
health.get('/metrics', async (c) =>
  c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
);
const server = await serveHttp(health.fetch, { hostname: config.host, port: config.port });
await processor.start();
log.info({ port: server.port, group: config.group, kafkaClient: clients.name, runtime }, 'processor started');

// Drain order (guarantee 6): stop consuming and finish in-flight batches (each commits its rows and
// offsets), flush the producer, then close the health server, the pool and telemetry.
onShutdown(
  async () => {
    await processor.stop();
    partitions.stop();
    await closeAll([() => server.close(), () => db.close(), () => redis.quit(), () => tracing.shutdown()]);
  },
  { log: (message, fields) => log.info(fields ?? {}, message) },
);
