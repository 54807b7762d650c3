// The edge HTTP surface (Web APIs only): the same intake as ingest (shared parsing and validation),
// then micro-batched forwarding to ingest; a request is answered once ingest acked its events.

import { context, trace } from '@opentelemetry/api';
import type { IntakeLimits, IntakeResponse } from '@sluice/shared/events/intake';
import { readEvents } from '@sluice/shared/events/intake';
import type { IntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { countAccepted, countRead } from '@sluice/shared/events/intake-metrics';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { InflightLimit } from '@sluice/shared/http/inflight-limit';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { traceRequests } from '@sluice/shared/http/trace-middleware';
import { appError } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { headersFor, validTraceHeaders } from '@sluice/shared/telemetry/trace-context';
import { Hono } from 'hono';
import type { Batcher } from './batcher.ts';

const tracer = trace.getTracer('sluice-edge');

export interface EdgeDeps {
  readonly streams: StreamRegistry;
  readonly limits: IntakeLimits;
  readonly batcher: Batcher;
  /** Bounds the intake requests and bytes held at once (503 beyond). */
  readonly inflight: InflightLimit;
  /** Prometheus metrics; the edge's code only counts into them (main.ts makes them). */
  readonly metrics: { readonly http: HttpMetrics; readonly intake: IntakeMetrics };
  readonly now: () => number;
  readonly logError: (message: string, error: unknown) => void;
}

/** What the host runtime tells about a request's connection (runtime.ts); absent in app.request. */
export interface EdgeBindings {
  readonly remoteAddress?: string;
}

export type EdgeEnv = { Bindings: EdgeBindings; Variables: BaseVariables };

/**
 * Who a request is from, for the per-client share of the batcher's pending bound: the API key once
 * there is one (there is no authentication yet), else the peer's address. NOTE: behind a proxy every
 * request has the proxy's address; then the share is the proxy's.
 */
function clientOf(env: EdgeBindings | undefined): string {
  return env?.remoteAddress ?? 'unknown';
}

export function createEdgeApp(deps: EdgeDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.logError('unhandled error', error) });
  app.use('*', deps.metrics.http.middleware);
  app.use('*', traceRequests(tracer));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.metrics.http.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  app.post('/v1/events', deps.inflight.middleware, async (c) => {
    const contentLength = Number(c.req.header('content-length') ?? Number.NaN);
    if (Number.isFinite(contentLength) && contentLength > deps.limits.maxRequestBytes) {
      return errorResponse(
        c,
        appError('payload_too_large', `request body exceeds ${deps.limits.maxRequestBytes} bytes`),
      );
    }
    const read = await readEvents(c.req.raw, deps.streams, deps.limits, deps.now());
    countRead(deps.metrics.intake, read);
    if (!read.ok) return errorResponse(c, read.error);
    const verdicts = read.value;
    // The trace goes on from this request's span (the client's own context, if valid, when no SDK
    // runs: trace-context.ts).
    const traceparent =
      headersFor(context.active()).traceparent ??
      validTraceHeaders({ traceparent: c.req.header('traceparent') }).traceparent;
    const forwarded = await deps.batcher.submit(verdicts.accepted, {
      client: clientOf(c.env),
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
    if (forwarded.value.ids.length === 0) {
      return errorResponse(
        c,
        appError('validation_failed', `all ${rejected.length} event(s) were rejected`, {
          details: { accepted: 0, rejected },
        }),
      );
    }
    const body: IntakeResponse = { accepted: forwarded.value.ids.length, ids: forwarded.value.ids, rejected };
    return c.json(body, 202);
  });
  return app;
}
