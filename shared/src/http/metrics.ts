// Prometheus metrics shared by every HTTP service: one registry per service, request counts and
// latencies by route and status, and the `/metrics` handler.

import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Seconds, 1 ms to 10 s: the buckets of every latency histogram. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HttpMetrics {
  readonly registry: Registry;
  readonly middleware: MiddlewareHandler;
  /** Prometheus text exposition of every metric in the registry. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createHttpMetrics(service: string): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'sluice_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const middleware: MiddlewareHandler = async function httpMetrics(c, next) {
    const started = performance.now();
    await next();
    // NOTE: the matched route pattern, never the raw path, so label cardinality stays bounded.
    const route = routePath(c);
    requests.inc({ route, method: c.req.method, status: String(c.res.status) });
    latency.observe({ route, method: c.req.method }, (performance.now() - started) / 1000);
  };
  return {
    registry,
    middleware,
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
