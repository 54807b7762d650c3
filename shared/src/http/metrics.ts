// Prometheus metrics shared by every HTTP service: one registry per service, request counts and
// latencies by route and status, and the `/metrics` handler.

import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { LabelValues } from 'prom-client';
import { Counter, Histogram, Registry } from 'prom-client';
import { collectRuntimeMetrics } from '../telemetry/runtime-metrics.ts';

/** Seconds, 1 ms to 10 s: the buckets of every latency histogram. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The methods a label may name; any other (a client may send any token) is `OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * A request method as a label value. INVARIANT: label values come from known sets, so a client
 * inventing methods cannot create series (Deno's server passes any method token through).
 */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/** Requests a recorder holds in plain numbers before adding them to the registry's metrics. */
export const RECORD_BATCH = 256;

/** One route's requests, answered on a path before the middleware (query's hit path). */
export interface RouteRecorder {
  /** One request answered, with its status and latency. */
  record(status: number, seconds: number): void;
}

/** A counter a recorder adds one to per request (a cache hit, say). */
export interface AlsoCounted {
  readonly counter: Counter<string>;
  readonly labels: LabelValues<string>;
}

export interface HttpMetrics {
  readonly registry: Registry;
  readonly middleware: MiddlewareHandler;
  /**
   * Counts a route's requests as the middleware does (and `also` one each), for a path that
   * answers before it. They wait in plain numbers until the metrics are rendered or RECORD_BATCH
   * arrive: prom-client hashes the labels on every call, a good part of a cheap request's cost.
   */
  recorder(route: string, method: string, also?: readonly AlsoCounted[]): RouteRecorder;
  /** Prometheus text exposition of every metric in the registry. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createHttpMetrics(service: string): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectRuntimeMetrics(registry);
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
    // NOTE: the matched route pattern, never the raw path (an unmatched one is `/*`), and a known
    // method, so label cardinality stays bounded.
    const route = routePath(c);
    const method = methodLabel(c.req.method);
    requests.inc({ route, method, status: String(c.res.status) });
    latency.observe({ route, method }, (performance.now() - started) / 1000);
  };
  // Every recorder's flush, run before a render so a scrape counts every request answered.
  const flushes: (() => void)[] = [];
  const recorder = (route: string, method: string, also: readonly AlsoCounted[] = []): RouteRecorder => {
    const labels = { route, method };
    const byStatus = new Map<number, number>();
    // Bounded: a full batch is flushed at once.
    const seconds = new Float64Array(RECORD_BATCH);
    let pending = 0;
    const flush = () => {
      if (pending === 0) return;
      for (const [status, count] of byStatus) requests.inc({ ...labels, status: String(status) }, count);
      byStatus.clear();
      for (let i = 0; i < pending; i += 1) latency.observe(labels, seconds[i] ?? 0);
      for (const counted of also) counted.counter.inc(counted.labels, pending);
      pending = 0;
    };
    flushes.push(flush);
    return {
      record(status, elapsed) {
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        seconds[pending] = elapsed;
        pending += 1;
        if (pending === RECORD_BATCH) flush();
      },
    };
  };
  return {
    registry,
    middleware,
    recorder,
    render: async () => {
      for (const flush of flushes) flush();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
