// sluice-processor configuration: one zod schema over the environment, parsed once in main.ts.

import {
  databaseUrlEnv,
  hostEnv,
  kafkaBrokersEnv,
  logLevelEnv,
  otlpEndpointEnv,
  portEnv,
  positiveIntEnv,
  redisUrlEnv,
  sampleRatioEnv,
  topicPrefixEnv,
} from '@sluice/shared/config';
import {
  checkKafkaSecurity,
  kafkaSecurityEnv,
  kafkaSecurityOf,
  redisCaFileEnv,
} from '@sluice/shared/connection-config';
import { KAFKA_CLIENTS } from '@sluice/shared/kafka/options';
import { z } from 'zod';

export const processorConfigSchema = z
  .object({
    SLUICE_PROCESSOR_HOST: hostEnv,
    /** Health and /metrics; the processor has no other HTTP surface. */
    SLUICE_PROCESSOR_PORT: portEnv(9464),
    SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
    ...kafkaSecurityEnv,
    /**
     * The Kafka adapter: @platformatic/kafka (TypeScript; Node and Bun; ~1.2 µs of CPU per record
     * consumed, measured) or librdkafka's addon (Node only; ~9 to 12.6 µs). Both pass the port's
     * contract tests and the processor's failure tests.
     */
    SLUICE_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default('platformatic'),
    SLUICE_TOPIC_PREFIX: topicPrefixEnv,
    SLUICE_CONSUMER_GROUP: z.string().min(1).default('sluice-processor'),
    /** Streams this fleet processes, comma-separated; empty: every declared stream. */
    SLUICE_STREAMS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    /**
     * A module exporting `STREAMS` (StreamDefinition[]) to use instead of the built-in registry: a
     * deployment's own stream files, without forking sluice.
     */
    SLUICE_STREAMS_MODULE: z.string().min(1).optional(),
    SLUICE_DATABASE_URL: databaseUrlEnv,
    /** The query service's cache: amended windows bump their generations there (guarantee 3). */
    SLUICE_REDIS_URL: redisUrlEnv,
    SLUICE_REDIS_CA_FILE: redisCaFileEnv,
    SLUICE_CACHE_PREFIX: z.string().default('sluice:query:'),
    /** Append committed window updates to the live feed (Redis Streams) for the query's SSE. */
    SLUICE_LIVE_UPDATES: z.stringbool().default(true),
    /** Redis key prefix of the event-id claims (the topic prefix is added to it). */
    SLUICE_DEDUP_PREFIX: z.string().default('sluice:dedup:'),
    /** Redis key prefix of the working window state (the topic prefix is added to it). */
    SLUICE_STATE_PREFIX: z.string().default('sluice:state:'),
    /** A partition with no records this long advances its watermark by wall clock (guarantee 7). */
    SLUICE_IDLE_TIMEOUT_MS: positiveIntEnv(30_000),
    SLUICE_TICK_MS: positiveIntEnv(1_000),
    /** How often the owned partitions' health rows are written (the dashboard's health row). */
    SLUICE_HEALTH_INTERVAL_MS: positiveIntEnv(2_000),
    SLUICE_MAX_BATCH: positiveIntEnv(10_000),
    SLUICE_PARTITION_CONCURRENCY: positiveIntEnv(4),
    /** A crashed worker's partitions move to the others after this long without heartbeats. */
    SLUICE_SESSION_TIMEOUT_MS: positiveIntEnv(10_000),
    /** Day partitions of the window table made ahead of today (window-partitions.ts). */
    SLUICE_PARTITIONS_AHEAD_DAYS: z.coerce.number().int().min(1).max(90).default(7),
    /** How often a worker keeps the window table's partitions (create ahead, drop past retention). */
    SLUICE_PARTITION_MAINTENANCE_MS: positiveIntEnv(3_600_000),
    SLUICE_OTLP_ENDPOINT: otlpEndpointEnv,
    SLUICE_TRACE_SAMPLE_RATIO: sampleRatioEnv,
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .superRefine(checkKafkaSecurity)
  .transform((env) => ({
    host: env.SLUICE_PROCESSOR_HOST,
    port: env.SLUICE_PROCESSOR_PORT,
    kafkaBrokers: env.SLUICE_KAFKA_BROKERS,
    kafkaSecurity: kafkaSecurityOf(env),
    kafkaClient: env.SLUICE_KAFKA_CLIENT,
    topicPrefix: env.SLUICE_TOPIC_PREFIX,
    group: env.SLUICE_CONSUMER_GROUP,
    streams: env.SLUICE_STREAMS,
    streamsModule: env.SLUICE_STREAMS_MODULE,
    databaseUrl: env.SLUICE_DATABASE_URL,
    redisUrl: env.SLUICE_REDIS_URL,
    redisCaFile: env.SLUICE_REDIS_CA_FILE,
    cachePrefix: env.SLUICE_CACHE_PREFIX,
    liveUpdates: env.SLUICE_LIVE_UPDATES,
    dedupPrefix: `${env.SLUICE_DEDUP_PREFIX}${env.SLUICE_TOPIC_PREFIX}`,
    statePrefix: `${env.SLUICE_STATE_PREFIX}${env.SLUICE_TOPIC_PREFIX}`,
    idleTimeoutMs: env.SLUICE_IDLE_TIMEOUT_MS,
    tickMs: env.SLUICE_TICK_MS,
    healthIntervalMs: env.SLUICE_HEALTH_INTERVAL_MS,
    maxBatch: env.SLUICE_MAX_BATCH,
    concurrency: env.SLUICE_PARTITION_CONCURRENCY,
    sessionTimeoutMs: env.SLUICE_SESSION_TIMEOUT_MS,
    partitionsAheadDays: env.SLUICE_PARTITIONS_AHEAD_DAYS,
    partitionMaintenanceMs: env.SLUICE_PARTITION_MAINTENANCE_MS,
    otlpEndpoint: env.SLUICE_OTLP_ENDPOINT,
    sampleRatio: env.SLUICE_TRACE_SAMPLE_RATIO,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type ProcessorConfig = z.output<typeof processorConfigSchema>;
