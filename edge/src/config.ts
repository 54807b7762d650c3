// sluice-edge configuration: one zod schema over the environment (Deno.env or process.env).

import { keyIdOf } from '@sluice/shared/auth/api-key';
import {
  authModeEnv,
  hostEnv,
  logLevelEnv,
  opsOpenEnv,
  portEnv,
  positiveIntEnv,
} from '@sluice/shared/config';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { DEFAULT_BODY_READ_TIMEOUT_MS } from '@sluice/shared/events/parse-body';
import { z } from 'zod';

export const edgeConfigSchema = z
  .object({
    SLUICE_EDGE_HOST: hostEnv,
    SLUICE_EDGE_PORT: portEnv(8787),
    SLUICE_INGEST_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    /**
     * A micro-batch goes to ingest at this many events or after this wait, whichever comes first.
     * It never holds more than SLUICE_EDGE_BATCH_BYTES of NDJSON: keep both within ingest's
     * SLUICE_MAX_EVENTS_PER_REQUEST and SLUICE_MAX_REQUEST_BYTES, so ingest never refuses a batch.
     */
    SLUICE_EDGE_BATCH_EVENTS: positiveIntEnv(500),
    SLUICE_EDGE_BATCH_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxRequestBytes),
    SLUICE_EDGE_BATCH_WAIT_MS: positiveIntEnv(5),
    /** Events waiting for ingest at most; past it the edge answers 503 (bounded memory). */
    SLUICE_EDGE_MAX_PENDING: positiveIntEnv(50_000),
    /** Of those, the events one client (its API key; its address with auth off) may have waiting. */
    SLUICE_EDGE_MAX_PENDING_PER_CLIENT: positiveIntEnv(12_500),
    SLUICE_EDGE_RETRIES: z.coerce.number().int().min(0).default(5),
    SLUICE_EDGE_TIMEOUT_MS: positiveIntEnv(20_000),
    SLUICE_MAX_REQUEST_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxRequestBytes),
    SLUICE_MAX_EVENT_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxEventBytes),
    SLUICE_MAX_EVENTS_PER_REQUEST: positiveIntEnv(DEFAULT_LIMITS.maxEvents),
    /** A request's body must arrive within this (408 beyond). */
    SLUICE_BODY_READ_TIMEOUT_MS: positiveIntEnv(DEFAULT_BODY_READ_TIMEOUT_MS),
    /** Requests and body bytes being read or processed at once; 503 with Retry-After beyond. */
    SLUICE_MAX_INFLIGHT_REQUESTS: positiveIntEnv(512),
    SLUICE_MAX_INFLIGHT_BYTES: positiveIntEnv(256 * 1024 * 1024),
    /** API keys on POST /v1/events (events:write); `off` only explicitly. */
    SLUICE_AUTH: authModeEnv,
    /** /healthz and /metrics without a key (else an admin key). */
    SLUICE_OPS_OPEN: opsOpenEnv,
    /**
     * The edge's own key (scope events:relay), sent to ingest on every forward; ingest then trusts
     * the tenant on each event, which the edge took from its client's key. Required with auth on.
     * Empty is unset (a compose file passes `${SLUICE_EDGE_INGEST_KEY:-}` before the key is made).
     */
    SLUICE_EDGE_INGEST_KEY: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z
        .string()
        .refine((key) => keyIdOf(key) !== undefined, 'expected an API key (slk_<id>_<secret>)')
        .optional(),
    ),
    /** How long a verified key is trusted before ingest is asked again (key-cache.ts). */
    SLUICE_EDGE_KEY_CACHE_MS: positiveIntEnv(2_000),
    /** How long a webhook source is trusted before ingest is asked again (webhook-sources.ts). */
    SLUICE_EDGE_SOURCE_CACHE_MS: positiveIntEnv(2_000),
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  // Fail fast at start: with auth on, an edge without its relay key could forward nothing.
  .refine((env) => env.SLUICE_AUTH === 'off' || env.SLUICE_EDGE_INGEST_KEY !== undefined, {
    path: ['SLUICE_EDGE_INGEST_KEY'],
    message: 'required when SLUICE_AUTH=on: a key with scope events:relay (./sluice keys create)',
  })
  .transform((env) => ({
    host: env.SLUICE_EDGE_HOST,
    port: env.SLUICE_EDGE_PORT,
    ingestUrl: env.SLUICE_INGEST_URL,
    batch: {
      maxEvents: env.SLUICE_EDGE_BATCH_EVENTS,
      maxBytes: env.SLUICE_EDGE_BATCH_BYTES,
      maxWaitMs: env.SLUICE_EDGE_BATCH_WAIT_MS,
      maxPending: env.SLUICE_EDGE_MAX_PENDING,
      maxPendingPerClient: env.SLUICE_EDGE_MAX_PENDING_PER_CLIENT,
    },
    inflight: { maxRequests: env.SLUICE_MAX_INFLIGHT_REQUESTS, maxBytes: env.SLUICE_MAX_INFLIGHT_BYTES },
    retries: env.SLUICE_EDGE_RETRIES,
    timeoutMs: env.SLUICE_EDGE_TIMEOUT_MS,
    limits: {
      maxRequestBytes: env.SLUICE_MAX_REQUEST_BYTES,
      maxEventBytes: env.SLUICE_MAX_EVENT_BYTES,
      maxEvents: env.SLUICE_MAX_EVENTS_PER_REQUEST,
      maxDepth: DEFAULT_LIMITS.maxDepth,
      bodyReadTimeoutMs: env.SLUICE_BODY_READ_TIMEOUT_MS,
    },
    auth: {
      mode: env.SLUICE_AUTH,
      opsOpen: env.SLUICE_OPS_OPEN,
      ingestKey: env.SLUICE_EDGE_INGEST_KEY,
      keyCacheMs: env.SLUICE_EDGE_KEY_CACHE_MS,
      sourceCacheMs: env.SLUICE_EDGE_SOURCE_CACHE_MS,
    },
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
