// Builds the ingest app in-process (STYLE #11: app.request) around a real Kafka producer and admin,
// on its own topic prefix, for the ingest tests.

import { createAdmission } from '@sluice/shared/auth/admission';
import type { IntakeLimits } from '@sluice/shared/events/intake';
import { DEFAULT_MAX_RECORD_BYTES } from '@sluice/shared/events/record-size';
import type { InflightLimitOptions } from '@sluice/shared/http/inflight-limit';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import type { KafkaClientName, ProduceCompression } from '@sluice/shared/kafka/options';
import type { KafkaAdmin } from '@sluice/shared/kafka/port';
import { createLogger } from '@sluice/shared/log';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { STREAMS, streamRegistry } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import { deliveryLedger } from '@sluice/shared/webhooks/delivery-ledger';
import { NO_SOURCES } from '@sluice/shared/webhooks/source-table';
import { Redis } from 'ioredis';
import { stackEnv } from '../../shared/test/harness.ts';
import { deleteRedisKeys, deleteTopics } from '../../shared/test/services.ts';
import { createIngestApp } from '../src/app.ts';
import { DEFAULT_INGEST_KAFKA_CLIENT } from '../src/config.ts';
import { createIngestMetrics } from '../src/metrics.ts';

export interface InProcessIngest {
  readonly app: ReturnType<typeof createIngestApp>;
  close(): Promise<void>;
}

export interface InProcessOptions {
  /** Topic prefix of this test's own topics. */
  readonly prefix: string;
  readonly deliveryTimeoutMs: number;
  /** Intake limits; by default 1 MiB per request, 64 KiB per event, 1,000 events. */
  readonly limits?: IntakeLimits;
  readonly maxQueuedRecords?: number;
  /** The Kafka adapter; ingest's default unless a test runs on each. */
  readonly client?: KafkaClientName;
  /** The streams it accepts (and whose topics it creates); the declared ones by default. */
  readonly streams?: readonly StreamDefinition[];
  /** The producer's compression; the adapter's default (lz4) unless set. */
  readonly compression?: ProduceCompression;
  /** Bytes per Kafka record; ingest's default unless set. */
  readonly maxRecordBytes?: number;
  /** The in-flight bound; by default 512 requests and 256 MiB. */
  readonly inflight?: Omit<InflightLimitOptions, 'unknownBodyBytes'>;
}

const TEST_LIMITS: IntakeLimits = {
  maxRequestBytes: 1 << 20,
  maxEventBytes: 1 << 16,
  maxEvents: 1000,
  maxDepth: 32,
};

export async function inProcessIngest({
  prefix,
  deliveryTimeoutMs,
  limits = TEST_LIMITS,
  maxQueuedRecords = 10_000,
  client = DEFAULT_INGEST_KAFKA_CLIENT,
  streams = STREAMS,
  compression,
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
  inflight = { maxRequests: 512, maxBytes: 256 << 20 },
}: InProcessOptions): Promise<InProcessIngest> {
  const env = stackEnv();
  const kafka = { brokers: env.kafkaBrokers, clientId: 'ingest-test' };
  const clients = await kafkaClients(client);
  const admin: KafkaAdmin = await clients.admin(kafka);
  const ensured = await admin.ensureTopics(streamTopicSpecs(streams, prefix));
  if (!ensured.ok) throw new Error(ensured.error.message);
  const producer = await clients.producer({
    ...kafka,
    deliveryTimeoutMs,
    maxQueuedRecords,
    ...(compression === undefined ? {} : { compression }),
  });
  const http = createHttpMetrics('sluice-ingest-test');
  // Auth off (the auth tests run ingest as a process); usage still counts into this test's keys.
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  const app = createIngestApp({
    log: createLogger('test', 'silent'),
    auth: { mode: 'off', verify: () => undefined },
    opsOpen: true,
    admission: createAdmission(redis, { prefix }),
    admin,
    http,
    producer,
    streams: streamRegistry(streams),
    topicPrefix: prefix,
    limits,
    maxRecordBytes,
    inflight: inflightLimit({ ...inflight, unknownBodyBytes: limits.maxRequestBytes }),
    metrics: createIngestMetrics(http.registry),
    sources: NO_SOURCES,
    ledger: deliveryLedger(redis, { prefix }),
    now: Date.now,
  });
  return {
    app,
    async close() {
      await producer.close();
      await admin.close();
      await deleteTopics(env.kafkaBrokers, prefix);
      await deleteRedisKeys(env.redisUrl, `${prefix}*`);
      await redis.quit();
    },
  };
}
