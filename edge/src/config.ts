// sluice-edge configuration: one zod schema over the environment (Deno.env or process.env).

import { hostEnv, logLevelEnv, portEnv, positiveIntEnv } from '@sluice/shared/config';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { z } from 'zod';

export const edgeConfigSchema = z
  .object({
    SLUICE_EDGE_HOST: hostEnv,
    SLUICE_EDGE_PORT: portEnv(8787),
    SLUICE_INGEST_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    /** A micro-batch goes to ingest at this many events or after this wait, whichever comes first. */
    SLUICE_EDGE_BATCH_EVENTS: positiveIntEnv(500),
    SLUICE_EDGE_BATCH_WAIT_MS: positiveIntEnv(5),
    /** Events waiting for ingest at most; past it the edge answers 503 (bounded memory). */
    SLUICE_EDGE_MAX_PENDING: positiveIntEnv(50_000),
    SLUICE_EDGE_RETRIES: z.coerce.number().int().min(0).default(5),
    SLUICE_EDGE_TIMEOUT_MS: positiveIntEnv(20_000),
    SLUICE_MAX_REQUEST_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxRequestBytes),
    SLUICE_MAX_EVENT_BYTES: positiveIntEnv(DEFAULT_LIMITS.maxEventBytes),
    SLUICE_MAX_EVENTS_PER_REQUEST: positiveIntEnv(DEFAULT_LIMITS.maxEvents),
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .transform((env) => ({
    host: env.SLUICE_EDGE_HOST,
    port: env.SLUICE_EDGE_PORT,
    ingestUrl: env.SLUICE_INGEST_URL,
    batch: {
      maxEvents: env.SLUICE_EDGE_BATCH_EVENTS,
      maxWaitMs: env.SLUICE_EDGE_BATCH_WAIT_MS,
      maxPending: env.SLUICE_EDGE_MAX_PENDING,
    },
    retries: env.SLUICE_EDGE_RETRIES,
    timeoutMs: env.SLUICE_EDGE_TIMEOUT_MS,
    limits: {
      maxRequestBytes: env.SLUICE_MAX_REQUEST_BYTES,
      maxEventBytes: env.SLUICE_MAX_EVENT_BYTES,
      maxEvents: env.SLUICE_MAX_EVENTS_PER_REQUEST,
      maxDepth: DEFAULT_LIMITS.maxDepth,
    },
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
