// Builds the ingest app in-process (STYLE #11: app.request) around a real Kafka producer and admin,
// on its own topic prefix, for the ingest tests.

import type { IntakeLimits } from '@sluice/shared/events/intake';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import type { KafkaClientName } from '@sluice/shared/kafka/options';
import type { KafkaAdmin } from '@sluice/shared/kafka/port';
import { createLogger } from '@sluice/shared/log';
import { STREAMS, streamRegistry } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import { stackEnv } from '../../shared/test/harness.ts';
import { deleteTopics } from '../../shared/test/services.ts';
import { createIngestApp } from '../src/app.ts';
import { DEFAULT_INGEST_KAFKA_CLIENT } from '../src/config.ts';
import { createIngestMetrics } from '../src/metrics.ts';

export interface InProcessIngest {
  readonly app: ReturnType<typeof createIngestApp>;
  close(): Promise<void>;
}

export async function inProcessIngest(
  prefix: string,
  limits: IntakeLimits,
  deliveryTimeoutMs: number,
  maxQueuedRecords = 10_000,
  client: KafkaClientName = DEFAULT_INGEST_KAFKA_CLIENT,
): Promise<InProcessIngest> {
  const env = stackEnv();
  const kafka = { brokers: env.kafkaBrokers, clientId: 'ingest-test' };
  const clients = await kafkaClients(client);
  const admin: KafkaAdmin = await clients.admin(kafka);
  const ensured = await admin.ensureTopics(streamTopicSpecs(STREAMS, prefix));
  if (!ensured.ok) throw new Error(ensured.error.message);
  const producer = await clients.producer({
    ...kafka,
    deliveryTimeoutMs,
    maxQueuedRecords,
  });
  const http = createHttpMetrics('sluice-ingest-test');
  const app = createIngestApp({
    log: createLogger('test', 'silent'),
    admin,
    http,
    producer,
    streams: streamRegistry(),
    topicPrefix: prefix,
    limits,
    metrics: createIngestMetrics(http.registry),
    now: Date.now,
  });
  return {
    app,
    async close() {
      await producer.close();
      await admin.close();
      await deleteTopics(env.kafkaBrokers, prefix);
    },
  };
}
