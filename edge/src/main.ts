// Composition root of sluice-edge on Deno or Bun: config, key and source caches, batcher, app,
// server, drain.

import { loadConfig } from '@sluice/shared/config';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { boundFields, boundString } from '@sluice/shared/log-bounds';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { createAdmissionClient } from './admission-client.ts';
import { createEdgeApp } from './app.ts';
import { createBatcher } from './batcher.ts';
import { edgeConfigSchema } from './config.ts';
import { createForward } from './forward.ts';
import { createKeyCache } from './key-cache.ts';
import { createEdgeMetrics, timedForward } from './metrics.ts';
import { detectRuntime } from './runtime.ts';
import { createRelay } from './webhook-relay.ts';
import { createSourceCache } from './webhook-sources.ts';

const runtime = detectRuntime();
const config = loadConfig('sluice-edge', edgeConfigSchema, {
  argv: runtime.argv,
  env: runtime.env,
  write: (line) => console.error(line),
  exit: (code) => runtime.exit(code),
});
// One JSON object per line (JSON escapes newlines and control characters), every string bounded.
const log = (level: string, msg: string, fields: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      level,
      service: 'sluice-edge',
      msg: boundString(msg),
      ...(boundFields(fields) as Record<string, unknown>),
    }),
  );
if (config.auth.mode === 'off')
  log(
    'warn',
    'SLUICE_AUTH=off: every endpoint is open and every caller is the tenant "default" with every scope',
  );
const keyCache = createKeyCache({ ingestUrl: config.ingestUrl, ttlMs: config.auth.keyCacheMs });
const metrics = createEdgeMetrics();
const ingestKey = config.auth.ingestKey === undefined ? {} : { ingestKey: config.auth.ingestKey };
// Deno with OTEL_DENO adds the traceparent to fetch itself; Bun (SDK from a preload) does not.
const fetchPropagates = runtime.name === 'deno' && runtime.env.OTEL_DENO === 'true';
const batcher = createBatcher(
  timedForward(
    createForward({
      ingestUrl: config.ingestUrl,
      retries: config.retries,
      timeoutMs: config.timeoutMs,
      ...ingestKey,
      fetchPropagates,
    }),
    metrics,
  ),
  config.batch,
);
// Set on SIGTERM (below): /readyz answers 503 from then on.
let draining = false;
const app = createEdgeApp({
  ready: () => !draining,
  auth: { mode: config.auth.mode, verify: (key) => keyCache.verify(key) },
  opsOpen: config.auth.opsOpen,
  admit: createAdmissionClient({ ingestUrl: config.ingestUrl }),
  streams: streamRegistry(),
  limits: config.limits,
  batcher,
  inflight: inflightLimit({ ...config.inflight, unknownBodyBytes: config.limits.maxRequestBytes }),
  metrics,
  webhooks: {
    sources: createSourceCache({
      ingestUrl: config.ingestUrl,
      ttlMs: config.auth.sourceCacheMs,
      ...ingestKey,
    }),
    relay: createRelay({ ingestUrl: config.ingestUrl, retries: config.retries, fetchPropagates }),
    refusals: metrics.webhookRefusals,
  },
  now: Date.now,
  logError: (msg, error) =>
    log('error', msg, { error: error instanceof Error ? error.message : String(error) }),
});
const server = runtime.serve((request, client) => app.fetch(request, client), {
  hostname: config.host,
  port: config.port,
});
log('info', 'listening', {
  runtime: runtime.name,
  host: config.host,
  port: config.port,
  ingest: config.ingestUrl,
  auth: config.auth.mode,
});

// Drain (guarantee 6): stop accepting, send what is batched, wait for ingest's answers, exit.
runtime.onSignal(() => {
  if (draining) return;
  draining = true;
  log('info', 'draining');
  server
    .close()
    .then(() => batcher.close())
    .then(
      () => runtime.exit(0),
      () => runtime.exit(1),
    );
});
