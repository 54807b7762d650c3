// The edge HTTP surface (Web APIs only): the same intake as ingest (shared parsing and validation),
// then micro-batched forwarding to ingest; a request is answered once ingest acked its events.
// With SLUICE_AUTH=on a request needs an events:write key (verified through key-cache.ts), its
// events are the key's tenant's, and a key with limits is admitted by ingest before forwarding.
// POST /v1/webhooks/{id} (no key; verified at the edge, then relayed) is webhooks-route.ts.

import { context, trace } from '@opentelemetry/api';
import { bearerKey } from '@sluice/shared/auth/api-key';
import type { Principal } from '@sluice/shared/auth/principal';
import { hasLimits } from '@sluice/shared/auth/principal';
import type { Auth, AuthVariables } from '@sluice/shared/auth/require-key';
import { opsAccess, requireScope } from '@sluice/shared/auth/require-key';
import type { IntakeLimits, IntakeResponse } from '@sluice/shared/events/intake';
import { allRejected, readEvents } from '@sluice/shared/events/intake';
import type { IntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { countAccepted, countRead } from '@sluice/shared/events/intake-metrics';
import type { TenantRule } from '@sluice/shared/events/validate';
import { TENANT_FROM_BODY } from '@sluice/shared/events/validate';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { InflightLimit } from '@sluice/shared/http/inflight-limit';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { traceRequests } from '@sluice/shared/http/trace-middleware';
import { appError } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { headersFor, validTraceHeaders } from '@sluice/shared/telemetry/trace-context';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { AdmitAtIngest } from './admission-client.ts';
import type { Batcher } from './batcher.ts';
import { KeyCheckUnavailable } from './key-cache.ts';
import type { WebhookDeps, WebhookVariables } from './webhooks-route.ts';
import { mountWebhooks } from './webhooks-route.ts';

const tracer = trace.getTracer('sluice-edge');

export interface EdgeDeps {
  /** Keys verified through the key cache (key-cache.ts); auth off with SLUICE_AUTH=off. */
  readonly auth: Auth;
  /** /healthz, /readyz and /metrics without a key (SLUICE_OPS_OPEN). */
  readonly opsOpen: boolean;
  /**
   * Readiness (/readyz): false once the drain began, so a load balancer or Kubernetes stops sending
   * new requests while the batches in flight finish (guarantee 6). Ready when absent.
   */
  readonly ready?: () => boolean;
  /** Ingest's admission of a request of a key with limits (admission-client.ts). */
  readonly admit: AdmitAtIngest;
  readonly streams: StreamRegistry;
  readonly limits: IntakeLimits;
  readonly batcher: Batcher;
  /** Bounds the intake requests and bytes held at once (503 beyond). */
  readonly inflight: InflightLimit;
  /** Prometheus metrics; the edge's code only counts into them (main.ts makes them). */
  readonly metrics: { readonly http: HttpMetrics; readonly intake: IntakeMetrics };
  /** POST /v1/webhooks/{id}: sources, the relay to ingest, refusal counts (webhooks-route.ts). */
  readonly webhooks: WebhookDeps;
  readonly now: () => number;
  readonly logError: (message: string, error: unknown) => void;
}

/** What the host runtime tells about a request's connection (runtime.ts); absent in app.request. */
export interface EdgeBindings {
  readonly remoteAddress?: string;
}

export type EdgeEnv = {
  Bindings: EdgeBindings;
  Variables: BaseVariables & AuthVariables & WebhookVariables;
};

/**
 * Who a request is from, for the per-client share of the batcher's pending bound: its API key's
 * id with auth on (one key's burst cannot take every slot, wherever it comes from), else the
 * peer's address. NOTE: behind a proxy every request has the proxy's address; then the share is
 * the proxy's.
 */
function clientOf(auth: Auth, principal: Principal, env: EdgeBindings | undefined): string {
  if (auth.mode === 'on') return `key:${principal.keyId}`;
  return env?.remoteAddress ?? 'unknown';
}

/** The events are the key's tenant's with auth on; as the body says (else 'default') with it off. */
const tenantRule = (auth: Auth, principal: Principal): TenantRule =>
  auth.mode === 'on' ? { from: 'key', tenant: principal.tenant } : TENANT_FROM_BODY;

/** Ingest could not check a key: 503 to retry, never a 401 (key-cache.ts). */
function keyCheckedOr503(
  check: MiddlewareHandler<{ Variables: AuthVariables }>,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    try {
      return await check(c, next);
    } catch (error) {
      if (!(error instanceof KeyCheckUnavailable)) throw error;
      return errorResponse(
        c,
        appError('unavailable', 'API keys cannot be checked right now', { retryAfterSeconds: 1 }),
      );
    }
  };
}

function setHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

export function createEdgeApp(deps: EdgeDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.logError('unhandled error', error) });
  app.use('*', deps.metrics.http.middleware);
  app.use('*', traceRequests(tracer));
  const ops = keyCheckedOr503(opsAccess(deps.auth, deps.opsOpen));
  app.use('/healthz', ops);
  app.use('/readyz', ops);
  app.use('/metrics', ops);
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) =>
    (deps.ready?.() ?? true)
      ? c.json({ status: 'ready' })
      : errorResponse(c, appError('unavailable', 'draining', { retryAfterSeconds: 1 })),
  );
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.metrics.http.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  // The key first: a request without a valid one holds no in-flight slot and no body bytes.
  const writer = keyCheckedOr503(requireScope(deps.auth, 'events:write'));
  app.post('/v1/events', writer, deps.inflight.middleware, async (c) => {
    const principal = c.var.principal;
    const contentLength = Number(c.req.header('content-length') ?? Number.NaN);
    if (Number.isFinite(contentLength) && contentLength > deps.limits.maxRequestBytes) {
      return errorResponse(
        c,
        appError('payload_too_large', `request body exceeds ${deps.limits.maxRequestBytes} bytes`),
      );
    }
    const read = await readEvents(
      c.req.raw,
      deps.streams,
      deps.limits,
      deps.now(),
      tenantRule(deps.auth, principal),
    );
    countRead(deps.metrics.intake, read);
    if (!read.ok) return errorResponse(c, read.error);
    const verdicts = read.value;
    // Issue 21, item 4: admitted whole or refused whole before anything is forwarded; ingest
    // judges (one set of counters in Redis for every edge and ingest), asked with the client's key.
    const key = bearerKey(c.req.header('authorization'));
    if (deps.auth.mode === 'on' && key !== undefined && hasLimits(principal)) {
      const admitted = await deps.admit(key, verdicts.accepted.length);
      setHeaders(c, admitted.headers);
      if (!admitted.allowed) return errorResponse(c, admitted.error);
    }
    // The trace goes on from this request's span (the client's own context, if valid, when no SDK
    // runs: trace-context.ts).
    const traceparent =
      headersFor(context.active()).traceparent ??
      validTraceHeaders({ traceparent: c.req.header('traceparent') }).traceparent;
    const forwarded = await deps.batcher.submit(verdicts.accepted, {
      client: clientOf(deps.auth, principal, c.env),
      ...(traceparent === undefined ? {} : { traceparent }),
    });
    if (!forwarded.ok) return errorResponse(c, forwarded.error);
    // Rejections by ingest carry the index within what the edge forwarded; map back to the request.
    const ingestRejected = forwarded.value.rejected.map((r) => ({
      ...r,
      index: verdicts.acceptedIndexes[r.index] ?? r.index,
    }));
    if (ingestRejected.length > 0)
      deps.metrics.intake.rejected.inc({ reason: 'rejected_by_ingest' }, ingestRejected.length);
    const acceptedIds = new Set(forwarded.value.ids);
    countAccepted(
      deps.metrics.intake,
      verdicts.accepted.filter((event) => acceptedIds.has(event.id)),
    );
    const rejected = [...verdicts.rejected, ...ingestRejected].sort((a, b) => a.index - b.index);
    if (forwarded.value.ids.length === 0) return errorResponse(c, allRejected(rejected));
    const body: IntakeResponse = { accepted: forwarded.value.ids.length, ids: forwarded.value.ids, rejected };
    return c.json(body, 202);
  });
  // Issue 22: signed deliveries, no key (the id and the signature are the credentials).
  mountWebhooks(app, deps);
  return app;
}
