// sluice-ingest configuration: one zod schema over the environment, parsed once in main.ts.

import {
  authModeEnv,
  dailyQuotaEnv,
  databaseUrlEnv,
  hostEnv,
  kafkaBrokersEnv,
  logLevelEnv,
  opsOpenEnv,
  otlpEndpointEnv,
  portEnv,
  positiveIntEnv,
  redisUrlEnv,
  sampleRatioEnv,
  secretsKeyEnv,
  topicPrefixEnv,
  webhooksEnv,
} from '@sluice/shared/config';
import {
  checkKafkaSecurity,
  kafkaSecurityEnv,
  kafkaSecurityOf,
  redisCaFileEnv,
} from '@sluice/shared/connection-config';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { DEFAULT_BODY_READ_TIMEOUT_MS } from '@sluice/shared/events/parse-body';
import { DEFAULT_MAX_RECORD_BYTES } from '@sluice/shared/events/record-size';
import { DEFAULT_HEADERS_TIMEOUT_MS } from '@sluice/shared/http/serve';
import type { KafkaClientName } from '@sluice/shared/kafka/options';
import { KAFKA_CLIENTS, PRODUCE_COMPRESSIONS } from '@sluice/shared/kafka/options';
import { z } from 'zod';

export const DEFAULT_INGEST_KAFKA_CLIENT: KafkaClientName = 'platformatic';

export const ingestConfigSchema = z
  .object({
    SLUICE_INGEST_HOST: hostEnv,
    SLUICE_INGEST_PORT: portEnv(8080),
    SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
    ...kafkaSecurityEnv,
    /**
     * The Kafka adapter: @platformatic/kafka (TypeScript; sends merged into produce requests) or
     * librdkafka's addon. Both pass the port's contract tests and ingest's outage tests; ingest
     * spent ~21 to 25 µs of CPU per event on the first against ~30 to 35 on the second (bench e2e).
     */
    SLUICE_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default(DEFAULT_INGEST_KAFKA_CLIENT),
    /** Prefix of every topic name, so test runs (or tenants of one cluster) stay apart. */
    SLUICE_TOPIC_PREFIX: topicPrefixEnv,
    SLUICE_MAX_REQUEST_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxRequestBytes),
    SLUICE_MAX_EVENT_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxEventBytes),
    SLUICE_MAX_EVENTS_PER_REQUEST: positiveIntEnv(DEFAULT_LIMITS.maxEvents),
    /**
     * Bytes of value, key and headers per Kafka record (a per-event 400 beyond). The default stays
     * 48 KiB under the broker's default `message.max.bytes`; topics ingest creates allow this plus
     * that margin (record-size.ts).
     */
    SLUICE_MAX_RECORD_BYTES: positiveIntEnv(DEFAULT_MAX_RECORD_BYTES),
    /**
     * On Node, a request's headers must arrive within this (408 and the connection closed beyond).
     * On Bun, Bun's own fixed deadline closes the connection 8 to 12 s after it opened instead.
     */
    SLUICE_HEADERS_TIMEOUT_MS: positiveIntEnv(DEFAULT_HEADERS_TIMEOUT_MS),
    /** A request's body must arrive within this once its headers did (408 beyond). */
    SLUICE_BODY_READ_TIMEOUT_MS: positiveIntEnv(DEFAULT_BODY_READ_TIMEOUT_MS),
    /** Requests and body bytes being read or processed at once; 503 with Retry-After beyond. */
    SLUICE_MAX_INFLIGHT_REQUESTS: positiveIntEnv(512),
    SLUICE_MAX_INFLIGHT_BYTES: positiveIntEnv(256 * 1024 * 1024),
    /** How long a produce may wait for acks=all before the request gets 503. */
    SLUICE_PRODUCE_TIMEOUT_MS: positiveIntEnv(5_000),
    SLUICE_MAX_QUEUED_RECORDS: positiveIntEnv(200_000),
    /**
     * How long the confluent producer waits to fill a batch: larger batches cost the broker less CPU.
     * (The platformatic adapter merges the sends that arrive while a request is out instead.)
     */
    SLUICE_PRODUCE_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(5),
    /** Compression of produced batches: less network and disk for more CPU in client and broker. */
    SLUICE_PRODUCE_COMPRESSION: z.enum(PRODUCE_COMPRESSIONS).default('lz4'),
    /** API keys on POST /v1/events (events:write or the edge's events:relay); `off` only explicitly. */
    SLUICE_AUTH: authModeEnv,
    /** /healthz, /readyz and /metrics without a key (else an admin key). */
    SLUICE_OPS_OPEN: opsOpenEnv,
    /** A tenant's events per UTC day unless tenant_quotas says otherwise; 0: none. */
    SLUICE_DAILY_EVENTS_QUOTA: dailyQuotaEnv,
    /** Where the keys live; connected only when auth is on (the key table, reloaded on NOTIFY). */
    SLUICE_DATABASE_URL: databaseUrlEnv,
    /** Rate limits and usage (admission.ts): the same Redis as query's, which reads the usage. */
    SLUICE_REDIS_URL: redisUrlEnv,
    SLUICE_REDIS_CA_FILE: redisCaFileEnv,
    /**
     * Prefix of the admission keys (rates, usage) in Redis: the same variable and default as query's,
     * so GET /v1/usage there reads what ingest counts here.
     */
    SLUICE_CACHE_PREFIX: z.string().default('sluice:query:'),
    /** POST /v1/webhooks/{id}: sources in PostgreSQL (webhook_sources), delivery ledger in Redis. */
    SLUICE_WEBHOOKS: webhooksEnv,
    /** Opens the sources' sealed secrets; unset, no source verifies (and each is logged once). */
    SLUICE_SECRETS_KEY: secretsKeyEnv,
    SLUICE_OTLP_ENDPOINT: otlpEndpointEnv,
    SLUICE_TRACE_SAMPLE_RATIO: sampleRatioEnv,
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .superRefine(checkKafkaSecurity)
  .transform((env) => ({
    host: env.SLUICE_INGEST_HOST,
    port: env.SLUICE_INGEST_PORT,
    kafkaBrokers: env.SLUICE_KAFKA_BROKERS,
    kafkaSecurity: kafkaSecurityOf(env),
    kafkaClient: env.SLUICE_KAFKA_CLIENT,
    topicPrefix: env.SLUICE_TOPIC_PREFIX,
    limits: {
      maxRequestBytes: env.SLUICE_MAX_REQUEST_BYTES,
      maxEventBytes: env.SLUICE_MAX_EVENT_BYTES,
      maxEvents: env.SLUICE_MAX_EVENTS_PER_REQUEST,
      maxDepth: DEFAULT_LIMITS.maxDepth,
      bodyReadTimeoutMs: env.SLUICE_BODY_READ_TIMEOUT_MS,
    },
    maxRecordBytes: env.SLUICE_MAX_RECORD_BYTES,
    headersTimeoutMs: env.SLUICE_HEADERS_TIMEOUT_MS,
    inflight: { maxRequests: env.SLUICE_MAX_INFLIGHT_REQUESTS, maxBytes: env.SLUICE_MAX_INFLIGHT_BYTES },
    produceTimeoutMs: env.SLUICE_PRODUCE_TIMEOUT_MS,
    maxQueuedRecords: env.SLUICE_MAX_QUEUED_RECORDS,
    lingerMs: env.SLUICE_PRODUCE_LINGER_MS,
    compression: env.SLUICE_PRODUCE_COMPRESSION,
    auth: {
      mode: env.SLUICE_AUTH,
      opsOpen: env.SLUICE_OPS_OPEN,
      dailyEventsQuota: env.SLUICE_DAILY_EVENTS_QUOTA,
      databaseUrl: env.SLUICE_DATABASE_URL,
    },
    webhooks: { enabled: env.SLUICE_WEBHOOKS === 'on', secretsKey: env.SLUICE_SECRETS_KEY },
    redisUrl: env.SLUICE_REDIS_URL,
    redisCaFile: env.SLUICE_REDIS_CA_FILE,
    admissionPrefix: env.SLUICE_CACHE_PREFIX,
    otlpEndpoint: env.SLUICE_OTLP_ENDPOINT,
    sampleRatio: env.SLUICE_TRACE_SAMPLE_RATIO,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type IngestConfig = z.output<typeof ingestConfigSchema>;
