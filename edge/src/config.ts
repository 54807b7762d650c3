// sluice-edge configuration: one zod schema over the environment (Deno.env or process.env).

import { hostEnv, logLevelEnv, portEnv, positiveIntEnv } from '@sluice/shared/config';
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
    /** Of those, the events one client (its address: there are no API keys yet) may have waiting. */
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
    SLUICE_LOG_LEVEL: logLevelEnv,
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
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
