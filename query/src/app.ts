// The query HTTP surface: streams, windows (cached), top-N, live updates (SSE), the OpenAPI
// document and its docs page, the dashboard, health, readiness and metrics.

import { OpenAPIHono } from '@hono/zod-openapi';
import { trace } from '@opentelemetry/api';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { traceRequests } from '@sluice/shared/http/trace-middleware';
import type { Logger } from '@sluice/shared/log';
import { appError } from '@sluice/shared/result';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { valueNames } from '@sluice/shared/streams/define';
import { topicNames } from '@sluice/shared/streams/registry';
import { z } from 'zod';
import { dashboardRoutes } from './dashboard-route.ts';
import { docsPage } from './docs-page.ts';
import { hitPath } from './hit-path.ts';
import type { LiveRouteDeps } from './live-route.ts';
import { liveHandler } from './live-route.ts';
import { OPENAPI_INFO, registerRoutes } from './openapi.ts';
import { readFailure } from './read-failure.ts';
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
}

export type QueryEnv = { Variables: BaseVariables };

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

const readStream = (deps: QueryDeps, topic: string) =>
  Promise.all([deps.repo.partitions(deps.group, topic), deps.repo.watermark(deps.group, topic)]);

export function createQueryApp(deps: QueryDeps): OpenAPIHono<QueryEnv> {
  const app = new OpenAPIHono<QueryEnv>();
  const tracer = trace.getTracer('sluice-query');
  const lookup = windowsLookup(deps.cachePrefix);
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.use('*', deps.http.middleware);
  app.use('*', traceRequests(tracer));
  registerRoutes(app);
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) =>
    (await deps.ready())
      ? c.json({ status: 'ready' })
      : errorResponse(
          c,
          appError('unavailable', 'PostgreSQL or Redis is not reachable', { retryAfterSeconds: 2 }),
        ),
  );
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.http.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  app.get('/v1/streams', (c) => c.json({ data: [...deps.streams.values()].map(describeStream) }));
  app.get('/v1/streams/:stream', async (c) => {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const topic = topicNames(stream.name, deps.topicPrefix).events;
    let read: Awaited<ReturnType<typeof readStream>>;
    try {
      read = await readStream(deps, topic);
    } catch (error) {
      const failure = readFailure(error);
      if (failure === undefined) throw error;
      return errorResponse(c, failure);
    }
    const [partitions, watermark] = read;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return c.json({
      ...describeStream(stream),
      schema: payloadSchema(stream),
      watermark: iso(watermark),
      lag: {
        watermark_lag_ms: watermark === null ? null : deps.now() - watermark,
        partitions: partitions.map((p) => ({
          partition: p.partition,
          watermark: iso(p.watermark),
          next_offset: p.nextOffset,
        })),
      },
    });
  });
  app.get(WINDOWS_ROUTE, windowsHandler(deps, lookup));
  app.get('/v1/streams/:stream/top', topHandler(deps));
  app.get('/v1/streams/:stream/live', liveHandler(deps));
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
