// sluice-query configuration: one zod schema over the environment, parsed once in main.ts.

import {
  authModeEnv,
  dailyQuotaEnv,
  databaseUrlEnv,
  hostEnv,
  logLevelEnv,
  opsOpenEnv,
  otlpEndpointEnv,
  portEnv,
  positiveIntEnv,
  redisUrlEnv,
  sampleRatioEnv,
  secretsKeyEnv,
  topicPrefixEnv,
} from '@sluice/shared/config';
import { redisCaFileEnv } from '@sluice/shared/connection-config';
import { z } from 'zod';
import { DEFAULT_BUCKET_ROWS } from './bucket-rows.ts';

export const queryConfigSchema = z
  .object({
    SLUICE_QUERY_HOST: hostEnv,
    SLUICE_QUERY_PORT: portEnv(8081),
    SLUICE_DATABASE_URL: databaseUrlEnv,
    /** The state Redis: generation counters (never evicted) and the live feed. */
    SLUICE_REDIS_URL: redisUrlEnv,
    /** The CAs of a rediss:// state or cache Redis (the system's roots when unset). */
    SLUICE_REDIS_CA_FILE: redisCaFileEnv,
    /**
     * The cache Redis: response entries only, on an instance of its own that evicts (allkeys-lru
     * under its maxmemory), so traffic cannot fill the state Redis.
     */
    SLUICE_CACHE_REDIS_URL: z
      .string()
      .default('redis://127.0.0.1:6380')
      .pipe(z.url({ protocol: /^rediss?$/, error: 'expected a redis:// URL' })),
    /** PostgreSQL's statement_timeout of every read, in ms (503 with Retry-After past it). */
    SLUICE_QUERY_STATEMENT_TIMEOUT_MS: positiveIntEnv(5_000),
    /** Topic prefix and consumer group of the processors whose watermarks this API reports. */
    SLUICE_TOPIC_PREFIX: topicPrefixEnv,
    SLUICE_CONSUMER_GROUP: z.string().min(1).default('sluice-processor'),
    /** Redis key prefix of the response cache. */
    SLUICE_CACHE_PREFIX: z.string().default('sluice:query:'),
    /** Seconds a response of settled windows stays cached (only an amendment changes it). */
    SLUICE_CACHE_SETTLED_TTL_S: positiveIntEnv(3_600),
    /** Seconds a response holding provisional windows may be served stale. */
    SLUICE_CACHE_PROVISIONAL_TTL_S: positiveIntEnv(2),
    /** The in-process tier in front of Redis: entries and bytes at most. */
    SLUICE_CACHE_LOCAL_ENTRIES: positiveIntEnv(10_000),
    SLUICE_CACHE_LOCAL_BYTES: positiveIntEnv(128 * 1024 * 1024),
    /**
     * Amendments pushed to the in-process tier (Redis tracking) so a hit reads nothing from Redis;
     * false: every hit reads its counters, and no answer is served once a bump has completed.
     */
    SLUICE_CACHE_PUSH_INVALIDATION: z.stringbool().default(true),
    /**
     * Rows of final hour buckets kept in process for misses (bucket-rows.ts; ~0.3 KB each), 0 for
     * none: a week of 1-minute windows of 6 keys is 60,480 rows per shape read.
     */
    // Empty is unset (a compose file passes `${VAR:-}`), not 0, which turns them off.
    SLUICE_QUERY_BUCKET_ROWS: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z
        .string()
        .regex(/^\d{1,8}$/, 'a whole number of rows (0 keeps none)')
        .transform(Number)
        .pipe(z.number().max(10_000_000))
        .default(DEFAULT_BUCKET_ROWS),
    ),
    /** Live (SSE) clients at most; each holds one Redis connection for its blocking reads. */
    SLUICE_QUERY_MAX_LIVE_CLIENTS: positiveIntEnv(200),
    /** Live clients of one remote address at most (429 beyond); see client-address.ts. */
    SLUICE_QUERY_MAX_LIVE_CLIENTS_PER_ADDRESS: positiveIntEnv(20),
    /** A live client's blocking read waits this long before a keep-alive (under Bun's 10 s idle timeout). */
    SLUICE_QUERY_LIVE_BLOCK_MS: positiveIntEnv(5_000),
    /** Jaeger's UI, for the dashboard's trace links. */
    SLUICE_JAEGER_UI_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:16686'),
    /** on (default): every API call needs a key; off: open, everyone the tenant 'default' (a warning). */
    SLUICE_AUTH: authModeEnv,
    /** /healthz, /readyz and /metrics without a key (a probe or scraper on a private network). */
    SLUICE_OPS_OPEN: opsOpenEnv,
    /** A tenant's events per UTC day when it has no quota of its own (0: none); GET /v1/usage shows it. */
    SLUICE_DAILY_EVENTS_QUOTA: dailyQuotaEnv,
    /** Seals the secrets /v1/admin/webhooks is given; unset, sources cannot be added nor rotated. */
    SLUICE_SECRETS_KEY: secretsKeyEnv,
    SLUICE_OTLP_ENDPOINT: otlpEndpointEnv,
    SLUICE_TRACE_SAMPLE_RATIO: sampleRatioEnv,
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .transform((env) => ({
    host: env.SLUICE_QUERY_HOST,
    port: env.SLUICE_QUERY_PORT,
    databaseUrl: env.SLUICE_DATABASE_URL,
    statementTimeoutMs: env.SLUICE_QUERY_STATEMENT_TIMEOUT_MS,
    redisUrl: env.SLUICE_REDIS_URL,
    redisCaFile: env.SLUICE_REDIS_CA_FILE,
    cacheRedisUrl: env.SLUICE_CACHE_REDIS_URL,
    topicPrefix: env.SLUICE_TOPIC_PREFIX,
    group: env.SLUICE_CONSUMER_GROUP,
    cache: {
      prefix: env.SLUICE_CACHE_PREFIX,
      settledTtlSeconds: env.SLUICE_CACHE_SETTLED_TTL_S,
      provisionalTtlSeconds: env.SLUICE_CACHE_PROVISIONAL_TTL_S,
      localMaxEntries: env.SLUICE_CACHE_LOCAL_ENTRIES,
      localMaxBytes: env.SLUICE_CACHE_LOCAL_BYTES,
      pushInvalidation: env.SLUICE_CACHE_PUSH_INVALIDATION,
      bucketRows: env.SLUICE_QUERY_BUCKET_ROWS,
    },
    live: {
      maxClients: env.SLUICE_QUERY_MAX_LIVE_CLIENTS,
      maxClientsPerAddress: env.SLUICE_QUERY_MAX_LIVE_CLIENTS_PER_ADDRESS,
      blockMs: env.SLUICE_QUERY_LIVE_BLOCK_MS,
    },
    jaegerUiUrl: env.SLUICE_JAEGER_UI_URL,
    secretsKey: env.SLUICE_SECRETS_KEY,
    auth: {
      mode: env.SLUICE_AUTH,
      opsOpen: env.SLUICE_OPS_OPEN,
      dailyEventsQuota: env.SLUICE_DAILY_EVENTS_QUOTA,
    },
    otlpEndpoint: env.SLUICE_OTLP_ENDPOINT,
    sampleRatio: env.SLUICE_TRACE_SAMPLE_RATIO,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type QueryConfig = z.output<typeof queryConfigSchema>;
