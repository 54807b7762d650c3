// The query HTTP surface: streams, windows (cached), top-N, live updates (SSE), the admin API
// and usage, the OpenAPI document and its docs page, the dashboard, health, readiness and metrics.
//
// Auth (issue 21): every /v1/streams route needs a windows:read key and reads the key's tenant
// only (c.var.principal.tenant: 'default' with auth off); /v1/admin/keys needs an admin key;
// /v1/usage any valid key; /healthz, /readyz and /metrics an admin key unless SLUICE_OPS_OPEN.
// The OpenAPI document, /docs and the dashboard's page and assets hold no data and stay open (the
// dashboard asks for a key and sends it on its API calls). A key with limits is admitted per
// request in Redis (request-admission.ts).

import { OpenAPIHono } from '@hono/zod-openapi';
import { trace } from '@opentelemetry/api';
import type { Admission } from '@sluice/shared/auth/admission';
import type { Auth, AuthVariables } from '@sluice/shared/auth/require-key';
import { opsAccess, requireScope } from '@sluice/shared/auth/require-key';
import type { Db } from '@sluice/shared/db/client';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { traceRequests } from '@sluice/shared/http/trace-middleware';
import type { Logger } from '@sluice/shared/log';
import type { AppError, Result } from '@sluice/shared/result';
import { appError } from '@sluice/shared/result';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { valueNames } from '@sluice/shared/streams/define';
import { topicNames } from '@sluice/shared/streams/registry';
import type { SecretBox } from '@sluice/shared/webhooks/secret-box';
import { z } from 'zod';
import { adminBodyLimit, adminHandlers } from './admin-route.ts';
import { adminWebhookHandlers } from './admin-webhooks-route.ts';
import { dashboardRoutes } from './dashboard-route.ts';
import { docsPage } from './docs-page.ts';
import type { HealthRepo } from './health-repo.ts';
import { healthSnapshots } from './health-snapshots.ts';
import { hitPath } from './hit-path.ts';
import type { LiveRouteDeps } from './live-route.ts';
import { HEALTH_EVERY_MS, liveHandler } from './live-route.ts';
import { OPENAPI_INFO, registerRoutes } from './openapi.ts';
import { seesWholeStream } from './operator-view.ts';
import { readFailure } from './read-failure.ts';
import { admitRequests } from './request-admission.ts';
import { streamHealth } from './stream-health.ts';
import { streamParam } from './stream-param.ts';
import { topHandler } from './top-route.ts';
import { windowsLookup } from './windows-lookup.ts';
import type { WindowsRouteDeps } from './windows-route.ts';
import { WINDOWS_ROUTE, windowsHandler } from './windows-route.ts';

export interface QueryDeps extends WindowsRouteDeps, Omit<LiveRouteDeps, 'streams'> {
  readonly log: Logger;
  readonly http: HttpMetrics;
  readonly ready: () => Promise<boolean>;
  /** Jaeger's UI, for the dashboard's links to a window's trace. */
  readonly jaegerUiUrl: string;
  /** The tracing SDK's sampling ratio for new roots (0 to 1). */
  readonly sampleRatio: number;
  /** Who calls: the key table (auth on) or everyone the default tenant (SLUICE_AUTH=off). */
  readonly auth: Auth;
  /** Rate limits and usage in the state Redis. */
  readonly admission: Admission;
  /** /healthz, /readyz and /metrics without a key (SLUICE_OPS_OPEN). */
  readonly opsOpen: boolean;
  /** Where the admin API writes keys (the api_keys table) and webhook sources. */
  readonly keyDb: Db;
  /** Seals webhook secrets (SLUICE_SECRETS_KEY), or why it cannot: add and rotate answer 503. */
  readonly secretBox: Result<SecretBox, AppError>;
  /** The health row's reads: partition_health (per stream) and the tenant's windows (per tenant). */
  readonly healthRepo: HealthRepo;
}

export type QueryEnv = { Variables: BaseVariables & AuthVariables };

export function describeStream(stream: StreamDefinition) {
  return {
    name: stream.name,
    description: stream.description,
    partitions: stream.partitions,
    key_by: [...stream.keyBy],
    event_time: stream.eventTime ?? null,
    windows: [...stream.windows],
    aggregations: stream.aggregations.map((a) => ({
      name: a.name,
      fn: a.fn,
      field: a.field ?? null,
      // The keys this aggregation adds to a window's `values` (a quantiles aggregation adds one per percentile).
      values: valueNames(a),
    })),
    watermark_ms: stream.watermarkMs,
    allowed_lateness_ms: stream.allowedLatenessMs,
  };
}

// A stream's payload as JSON Schema does not change while the service runs: made once per stream.
const payloadSchemas = new WeakMap<StreamDefinition, unknown>();
function payloadSchema(stream: StreamDefinition): unknown {
  let schema = payloadSchemas.get(stream);
  if (schema === undefined) {
    schema = z.toJSONSchema(stream.schema, { io: 'input', unrepresentable: 'any' });
    payloadSchemas.set(stream, schema);
  }
  return schema;
}

/** The stream's watermark; its partitions' positions only for an operator (operator-view.ts). */
const readStream = (deps: QueryDeps, topic: string, operator: boolean) =>
  Promise.all([
    operator ? deps.repo.partitions(deps.group, topic) : null,
    deps.repo.watermark(deps.group, topic),
  ]);

export function createQueryApp(deps: QueryDeps): OpenAPIHono<QueryEnv> {
  const app = new OpenAPIHono<QueryEnv>();
  const tracer = trace.getTracer('sluice-query');
  const lookup = windowsLookup(deps.cachePrefix);
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.use('*', deps.http.middleware);
  app.use('*', traceRequests(tracer));
  registerRoutes(app);
  const ops = opsAccess(deps.auth, deps.opsOpen);
  const admit = admitRequests(deps.admission);
  const read = [requireScope(deps.auth, 'windows:read'), admit] as const;
  const admin = [requireScope(deps.auth, 'admin'), admit] as const;
  app.get('/healthz', ops, (c) => c.json({ status: 'ok' }));
  app.get('/readyz', ops, async (c) =>
    (await deps.ready())
      ? c.json({ status: 'ready' })
      : errorResponse(
          c,
          appError('unavailable', 'PostgreSQL or Redis is not reachable', { retryAfterSeconds: 2 }),
        ),
  );
  app.get('/metrics', ops, async (c) => {
    const { contentType, body } = await deps.http.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  app.get('/v1/streams', ...read, (c) => c.json({ data: [...deps.streams.values()].map(describeStream) }));
  app.get('/v1/streams/:stream', ...read, async (c) => {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const topic = topicNames(stream.name, deps.topicPrefix).events;
    let read: Awaited<ReturnType<typeof readStream>>;
    try {
      read = await readStream(deps, topic, seesWholeStream(c.var.principal));
    } catch (error) {
      const failure = readFailure(error);
      if (failure === undefined) throw error;
      return errorResponse(c, failure);
    }
    const [partitions, watermark] = read;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return c.json({
      ...describeStream(stream),
      // The key's tenant: what the stream's windows, top and live routes read for this key. The
      // watermark and its lag are the stream's progress, shared by every tenant (no tenant's data);
      // the partitions' next offsets add up every tenant's volume: an operator's only, else null.
      tenant: c.var.principal.tenant,
      schema: payloadSchema(stream),
      watermark: iso(watermark),
      lag: {
        watermark_lag_ms: watermark === null ? null : deps.now() - watermark,
        partitions:
          partitions?.map((p) => ({
            partition: p.partition,
            watermark: iso(p.watermark),
            next_offset: p.nextOffset,
          })) ?? null,
      },
    });
  });
  const healthDeps = { ...deps, watermarkOf: deps.repo.watermark };
  // The dashboard's health row: per-tenant figures from the key's tenant's windows, the stream's
  // operational ones for an operator's key only (stream-health.ts). Never cached: a few rows per read.
  app.get('/v1/streams/:stream/health', ...read, async (c) => {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { principal } = c.var;
    try {
      const body = await streamHealth(healthDeps, found.stream, principal.tenant, seesWholeStream(principal));
      return c.json(body, 200, { 'cache-control': 'no-store' });
    } catch (error) {
      const failure = readFailure(error);
      if (failure === undefined) throw error;
      return errorResponse(c, failure);
    }
  });
  app.get(WINDOWS_ROUTE, ...read, windowsHandler(deps, lookup));
  app.get('/v1/streams/:stream/top', ...read, topHandler(deps));
  // Live `health` events: one snapshot per (stream, tenant, operator) per interval, shared by
  // every connection; a live client needs at most one, so maxClients of them bound the map.
  const snapshots = healthSnapshots({
    compute: (stream, tenant, operator) => streamHealth(healthDeps, stream, tenant, operator),
    everyMs: HEALTH_EVERY_MS,
    maxEntries: Math.max(1, deps.maxClients),
    now: Date.now,
    log: deps.log,
  });
  app.get('/v1/streams/:stream/live', ...read, liveHandler({ ...deps, health: snapshots.get }));
  const keys = adminHandlers(deps);
  app.post('/v1/admin/keys', ...admin, adminBodyLimit, keys.createKey);
  app.get('/v1/admin/keys', ...admin, keys.listKeys);
  app.delete('/v1/admin/keys/:id', ...admin, keys.revokeKey);
  const sources = adminWebhookHandlers(deps);
  app.post('/v1/admin/webhooks', ...admin, adminBodyLimit, sources.add);
  app.get('/v1/admin/webhooks', ...admin, sources.list);
  app.delete('/v1/admin/webhooks/:id', ...admin, sources.remove);
  app.post('/v1/admin/webhooks/:id/rotate', ...admin, adminBodyLimit, sources.rotate);
  app.post('/v1/admin/webhooks/:id/retire', ...admin, sources.retire);
  app.get('/v1/usage', requireScope(deps.auth, 'events:write', 'windows:read', 'admin'), admit, keys.usage);
  app.doc31('/openapi.json', OPENAPI_INFO);
  app.get('/docs', (c) => c.html(docsPage(app.getOpenAPI31Document(OPENAPI_INFO))));
  dashboardRoutes(app, { jaegerUiUrl: deps.jaegerUiUrl });
  // The hit path goes before Hono on every entry (the server's and app.request's alike, so the
  // tests exercise it): a hit it can answer at once skips Hono's context, router and middleware.
  const hits = hitPath({ ...deps, lookup, tracer });
  const route = app.fetch;
  const hit = (request: Request) => {
    try {
      return hits(request);
    } catch (error) {
      // The hit path only declines: should it throw, the route answers (in the envelope).
      deps.log.error({ err: error }, 'hit path failed');
      return undefined;
    }
  };
  app.fetch = (request, env, executionCtx) => hit(request) ?? route(request, env, executionCtx);
  return app;
}
