// The query HTTP surface: declared streams, window rows (cached), health, readiness, metrics.

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
import { Hono } from 'hono';
import type { WindowsRouteDeps } from './windows-route.ts';
import { windowsHandler } from './windows-route.ts';

export interface QueryDeps extends WindowsRouteDeps {
  readonly log: Logger;
  readonly http: HttpMetrics;
  readonly ready: () => Promise<boolean>;
}

export type QueryEnv = { Variables: BaseVariables };

export function describeStream(stream: StreamDefinition) {
  return {
    name: stream.name,
    description: stream.description,
    partitions: stream.partitions,
    key_by: stream.keyBy,
    event_time: stream.eventTime ?? null,
    windows: stream.windows,
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

export function createQueryApp(deps: QueryDeps): Hono<QueryEnv> {
  const app = new Hono<QueryEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.use('*', deps.http.middleware);
  app.use('*', traceRequests(trace.getTracer('sluice-query')));
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
  app.get('/v1/streams/:stream/windows', windowsHandler(deps));
  return app;
}
