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
import type { Auth } from '@sluice/shared/auth/require-key';
import { opsAccess, requireScope } from '@sluice/shared/auth/require-key';
import type { Db } from '@sluice/shared/db/client';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { traceRequests } from '@sluice/shared/http/trace-middleware';
import type { Logger } from '@sluice/shared/log';
import type { AppError, Result } from '@sluice/shared/result';
import type { SecretBox } from '@sluice/shared/webhooks/secret-box';
import type { HealthRepo } from './health-repo.ts';
import { healthSnapshots } from './health-snapshots.ts';
import { hitPath } from './hit-path.ts';
import { admitRequests } from './request-admission.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { adminWebhookRoutes } from './routes/admin-webhooks.ts';
import type { QueryEnv } from './routes/contract.ts';
import { declareSecurity, serveRoute } from './routes/contract.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { documentRoutes } from './routes/document.ts';
import type { LiveRouteDeps } from './routes/live.ts';
import { HEALTH_EVERY_MS, LIVE, liveHandler } from './routes/live.ts';
import { opsRoutes } from './routes/ops.ts';
import { streamRoutes } from './routes/streams.ts';
import { TOP, topHandler } from './routes/top.ts';
import type { WindowsRouteDeps } from './routes/windows.ts';
import { WINDOWS, windowsHandler } from './routes/windows.ts';
import { streamHealth } from './stream-health.ts';
import { windowsLookup } from './windows-lookup.ts';

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

export type { QueryEnv };

export function createQueryApp(deps: QueryDeps): OpenAPIHono<QueryEnv> {
  const app = new OpenAPIHono<QueryEnv>();
  const tracer = trace.getTracer('sluice-query');
  const lookup = windowsLookup(deps.cachePrefix);
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.use('*', deps.http.middleware);
  app.use('*', traceRequests(tracer));
  declareSecurity(app);
  const ops = opsAccess(deps.auth, deps.opsOpen);
  const admit = admitRequests(deps.admission);
  const read = [requireScope(deps.auth, 'windows:read'), admit];
  const admin = [requireScope(deps.auth, 'admin'), admit];
  const anyKey = [requireScope(deps.auth, 'events:write', 'windows:read', 'admin'), admit];
  // Each route module declares its routes in the document as it serves them (contract.ts).
  opsRoutes(app, deps, ops);
  streamRoutes(app, deps, read);
  serveRoute(app, WINDOWS, read, windowsHandler(deps, lookup), { queryByStream: true });
  serveRoute(app, TOP, read, topHandler(deps), { queryByStream: true });
  // Live `health` events: one snapshot per (stream, tenant, operator) per interval, shared by
  // every connection; a live client needs at most one, so maxClients of them bound the map.
  const healthDeps = { ...deps, watermarkOf: deps.repo.watermark };
  const snapshots = healthSnapshots({
    compute: (stream, tenant, operator) => streamHealth(healthDeps, stream, tenant, operator),
    everyMs: HEALTH_EVERY_MS,
    maxEntries: Math.max(1, deps.maxClients),
    now: Date.now,
    log: deps.log,
  });
  serveRoute(app, LIVE, read, liveHandler({ ...deps, health: snapshots.get }));
  adminKeyRoutes(app, deps, admin, anyKey);
  adminWebhookRoutes(app, deps, admin);
  documentRoutes(app);
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
