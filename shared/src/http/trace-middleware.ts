// A SERVER span per HTTP request for services whose runtime has no automatic HTTP instrumentation
// (Bun.serve and Deno.serve bypass node:http): the client's traceparent is the parent, the matched
// route names the span, the status is an attribute, a 5xx is an error. @opentelemetry/api only.

import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { inSpan } from '../telemetry/spans.ts';
import { contextFrom } from '../telemetry/trace-context.ts';
import { methodLabel } from './metrics.ts';

/** What a request's span starts with: its parent, kind and first attributes. */
function requestSpanStart(
  method: string,
  path: string,
  header: (name: string) => string | undefined,
): { parent: Context; kind: SpanKind; attributes: Attributes } {
  // A runtime that instruments its server itself (Deno with OTEL_DENO) has already started the
  // request's span from the client's traceparent: the route span nests in it. Elsewhere this is
  // the request's SERVER span, a child of the client's context.
  const serverSpan = trace.getActiveSpan();
  return {
    parent:
      serverSpan === undefined
        ? contextFrom({ traceparent: header('traceparent'), tracestate: header('tracestate') })
        : context.active(),
    kind: serverSpan === undefined ? SpanKind.SERVER : SpanKind.INTERNAL,
    attributes: { 'http.request.method': method, 'url.path': path },
  };
}

/** Names a request's span for its matched route and marks its status (a 5xx is an error). */
function finishRequestSpan(span: Span, method: string, route: string, status: number): void {
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}

export function traceRequests(tracer: Tracer, options: { skip?: readonly string[] } = {}): MiddlewareHandler {
  const skip = new Set(options.skip ?? ['/healthz', '/readyz', '/metrics']);
  return async (c, next) => {
    if (skip.has(c.req.path)) return next();
    // Span names from a known set too: a made-up method is `OTHER` (the attribute keeps it bounded).
    const method = methodLabel(c.req.method);
    const start = requestSpanStart(method, c.req.path.slice(0, 2_048), (name) => c.req.header(name));
    await inSpan(tracer, method, start, async (span) => {
      await next();
      finishRequestSpan(span, method, c.req.routePath, c.res.status);
    });
  };
}

/**
 * The span of a request answered before Hono and without I/O (query's cached hits): the same
 * parent, name and attributes traceRequests gives it, started and ended at once. Nothing runs
 * inside it, so it is never made the active context.
 */
export function traceAnsweredRequest(
  tracer: Tracer,
  request: { method: string; path: string; headers: Headers },
  answered: { route: string; status: number; attributes: Attributes },
): void {
  const method = methodLabel(request.method);
  const start = requestSpanStart(method, request.path, (name) => request.headers.get(name) ?? undefined);
  const span = tracer.startSpan(method, { kind: start.kind, attributes: start.attributes }, start.parent);
  span.setAttributes(answered.attributes);
  finishRequestSpan(span, method, answered.route, answered.status);
  span.end();
}

/** Marks the request's span (if any) with an attribute: a cache hit or miss, for example. */
export function annotateRequest(key: string, value: string): void {
  trace.getActiveSpan()?.setAttribute(key, value);
}
