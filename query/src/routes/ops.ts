// GET /healthz, /readyz and /metrics: liveness, readiness (PostgreSQL and Redis reachable) and
// Prometheus metrics. Open with SLUICE_OPS_OPEN (a probe on a private network), else an admin key.

import type { OpenAPIHono } from '@hono/zod-openapi';
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { appError } from '@sluice/shared/result';
import type { MiddlewareHandler } from 'hono';
import type { QueryEnv } from './contract.ts';
import { authErrors, BEARER, errors, json, serveRoute } from './contract.ts';

/** Ops endpoints: open with SLUICE_OPS_OPEN (a probe on a private network), else an admin key. */
const anonymous: Record<string, string[]> = {};
const ops = {
  security: [{ [BEARER]: [] }, anonymous],
  description: 'Needs an `admin` key, unless the service runs with SLUICE_OPS_OPEN=true.',
};

export const HEALTHZ = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness',
  ...ops,
  responses: {
    200: json(z.object({ status: z.literal('ok') }), 'Alive'),
    401: authErrors[401],
    403: authErrors[403],
  },
});

export const READYZ = createRoute({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: PostgreSQL and Redis reachable',
  ...ops,
  responses: {
    200: json(z.object({ status: z.literal('ready') }), 'Ready'),
    401: authErrors[401],
    403: authErrors[403],
    503: errors[503],
  },
});

export const METRICS = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics',
  ...ops,
  responses: {
    200: { content: { 'text/plain': { schema: z.string() } }, description: 'Prometheus text format' },
    401: authErrors[401],
    403: authErrors[403],
  },
});

export interface OpsDeps {
  readonly http: HttpMetrics;
  readonly ready: () => Promise<boolean>;
}

export function opsRoutes(app: OpenAPIHono<QueryEnv>, deps: OpsDeps, ops: MiddlewareHandler): void {
  serveRoute(app, HEALTHZ, [ops], (c) => c.json({ status: 'ok' }));
  serveRoute(app, READYZ, [ops], async (c) =>
    (await deps.ready())
      ? c.json({ status: 'ready' })
      : errorResponse(
          c,
          appError('unavailable', 'PostgreSQL or Redis is not reachable', { retryAfterSeconds: 2 }),
        ),
  );
  serveRoute(app, METRICS, [ops], async (c) => {
    const { contentType, body } = await deps.http.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
}
