// Composition root of sluice-ingest (Bun, or Node 24): config, telemetry, keys, admission, Kafka, app,
// server, drain.

import { createAdmission } from '@sluice/shared/auth/admission';
import { startServiceAuth } from '@sluice/shared/auth/service-auth';
import { loadConfig } from '@sluice/shared/config';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { topicMaxMessageBytes } from '@sluice/shared/events/record-size';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { serveHttp } from '@sluice/shared/http/serve';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import { kafkaLogTo } from '@sluice/shared/kafka/options';
import { closeAll, onShutdown, processConfigOptions } from '@sluice/shared/lifecycle';
import { createLogger } from '@sluice/shared/log';
import { createRedis } from '@sluice/shared/redis/client';
import { STREAMS, streamRegistry } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import { startNodeTracing } from '@sluice/shared/telemetry/node-tracing';
import { deliveryLedger } from '@sluice/shared/webhooks/delivery-ledger';
import { secretBox } from '@sluice/shared/webhooks/secret-box';
import { NO_SOURCES, startSourceTable } from '@sluice/shared/webhooks/source-table';
import { createIngestApp } from './app.ts';
import { ingestConfigSchema } from './config.ts';
import { createIngestMetrics } from './metrics.ts';

const config = loadConfig('sluice-ingest', ingestConfigSchema, processConfigOptions());
const log = createLogger('sluice-ingest', config.logLevel);
const tracing = startNodeTracing({
  serviceName: 'sluice-ingest',
  endpoint: config.otlpEndpoint,
  sampleRatio: config.sampleRatio,
});
// postgres.js connects on first use: with auth off the database is never reached.
const keysDb = createDb({
  url: config.auth.databaseUrl,
  maxConnections: 2,
  applicationName: 'sluice-ingest',
});
// The key table reads api_keys (and the source table webhook_sources): on a fresh database ingest
// may start before the processor and query, so it applies the migrations too (drizzle's migrator
// takes a lock: concurrent starts are safe).
if (config.auth.mode === 'on' || config.webhooks.enabled) await applyMigrations(keysDb.db);
const auth = await startServiceAuth({
  mode: config.auth.mode,
  sql: keysDb.sql,
  dailyEventsQuota: config.auth.dailyEventsQuota,
  warn: (message) => log.warn(message),
  onError: (error) => log.warn({ err: error }, 'could not reload the API keys; the last ones stay'),
});
// Fails fast rather than queueing: a request waits on admission, not on a Redis reconnect.
const redis = createRedis(
  config.redisUrl,
  { maxRetriesPerRequest: 1, enableOfflineQueue: false },
  config.redisCaFile,
);
redis.on('error', (error: Error) => log.warn({ error: error.message }, 'redis error'));
// Without a queue a command before the connection fails, so wait for it (bounded: with Redis
// down ingest still starts; admission answers 503 and usage misses counts until it is back).
await new Promise<void>((resolve) => {
  const waited = setTimeout(resolve, 5_000);
  redis.once('ready', () => {
    clearTimeout(waited);
    resolve();
  });
});
const counting = createAdmission(redis, {
  prefix: config.admissionPrefix,
  usageFlushMs: 100,
  // Leases (leases.ts): a busy limited key is judged in Redis once per lease, not per request.
  leaseMs: 250,
  onError: (error) => log.warn({ err: error }, 'could not add accepted events to usage'),
});
// With auth off there are no keys to limit nor tenants to bill: no Redis round trip per request
// for usage either (GET /v1/usage then reads 0).
const admission = config.auth.mode === 'on' ? counting : { ...counting, countAccepted: async () => {} };
const box = secretBox(config.webhooks.secretsKey);
if (config.webhooks.enabled && !box.ok) log.warn(box.error.message);
// With webhooks off the table is empty and never loaded: every /v1/webhooks/{id} is a 404.
const sources = config.webhooks.enabled
  ? await startSourceTable({
      sql: keysDb.sql,
      box: box.ok ? box.value : undefined,
      defaultDailyEvents: config.auth.dailyEventsQuota,
      onBadSource: (id, why) => log.error({ source: id }, `webhook source cannot be used: ${why}`),
      onError: (error) =>
        log.warn({ err: error }, 'could not reload the webhook sources; the last ones stay'),
    })
  : NO_SOURCES;
const ledger = deliveryLedger(redis, { prefix: config.admissionPrefix });
const kafka = {
  brokers: config.kafkaBrokers,
  clientId: 'sluice-ingest',
  log: kafkaLogTo(log),
  security: config.kafkaSecurity,
};
const clients = await kafkaClients(config.kafkaClient);
const admin = await clients.admin(kafka);
// Topics ingest creates take the largest record it accepts (an existing topic keeps its setting).
const maxMessageBytes = String(topicMaxMessageBytes(config.maxRecordBytes));
const topics = await admin.ensureTopics(
  streamTopicSpecs(STREAMS, config.topicPrefix).map((spec) => ({
    ...spec,
    configs: { ...spec.configs, 'max.message.bytes': maxMessageBytes },
  })),
);
if (!topics.ok)
  log.warn({ error: topics.error.message }, 'could not ensure topics; produce will fail until they exist');
const http = createHttpMetrics('sluice-ingest');
const metrics = createIngestMetrics(http.registry);
const producer = await clients.producer({
  ...kafka,
  deliveryTimeoutMs: config.produceTimeoutMs,
  maxQueuedRecords: config.maxQueuedRecords,
  lingerMs: config.lingerMs,
  compression: config.compression,
  onRenewed: () => metrics.producerRenewals.inc(),
});
const app = createIngestApp({
  log,
  auth,
  opsOpen: config.auth.opsOpen,
  admission,
  admin,
  http,
  producer,
  streams: streamRegistry(),
  topicPrefix: config.topicPrefix,
  limits: config.limits,
  maxRecordBytes: config.maxRecordBytes,
  inflight: inflightLimit({ ...config.inflight, unknownBodyBytes: config.limits.maxRequestBytes }),
  metrics,
  sources,
  ledger,
  now: Date.now,
});
// Time for a handler to write its answer once its last deadline has passed.
const ANSWER_MARGIN_MS = 1_000;
const server = await serveHttp(app.fetch, {
  hostname: config.host,
  port: config.port,
  headersTimeoutMs: config.headersTimeoutMs,
  // The backstop for a body no handler reads: headers and body deadlines back to back.
  requestTimeoutMs: config.headersTimeoutMs + config.limits.bodyReadTimeoutMs,
  // On Bun: past the body read's 408 and the produce wait's 503 (the clock starts once the headers
  // are in), so each is written (guarantee 1: the client always learns whether its events were
  // acknowledged).
  answerWithinMs: config.limits.bodyReadTimeoutMs + config.produceTimeoutMs + ANSWER_MARGIN_MS,
});
log.info({ host: config.host, port: server.port, runtime: server.runtime }, 'listening');

// Drain order (STYLE #10, guarantee 6): stop intake and finish in-flight requests, flush the
// producer so every 202 already given stays true, then close clients and telemetry.
onShutdown(
  async () => {
    await server.close();
    await producer.close();
    await closeAll([
      () => admin.close(),
      // The key and source tables UNLISTEN on the pool: they close before it ends, or the UNLISTEN
      // is written to a destroyed connection and the drain fails.
      async () => {
        await closeAll([() => auth.close(), () => sources.close()]);
        await keysDb.close();
      },
      async () => {
        // The usage tally first: what was accepted is counted before Redis closes.
        await admission.close();
        await redis.quit();
      },
      () => tracing.shutdown(),
    ]);
  },
  { log: (message, fields) => log.info(fields ?? {}, message) },
);
