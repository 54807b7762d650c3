// A SERVER span per HTTP request for services whose runtime has no automatic HTTP instrumentation
// (Bun.serve and Deno.serve bypass node:http): the client's traceparent is the parent, the matched
// route names the span, the status is an attribute, a 5xx is an error. @opentelemetry/api only.

import type { Tracer } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { inSpan } from '../telemetry/spans.ts';
import { contextFrom } from '../telemetry/trace-context.ts';

export function traceRequests(tracer: Tracer, options: { skip?: readonly string[] } = {}): MiddlewareHandler {
  const skip = new Set(options.skip ?? ['/healthz', '/readyz', '/metrics']);
  return async (c, next) => {
    if (skip.has(c.req.path)) return next();
    // A runtime that instruments its server itself (Deno with OTEL_DENO) has already started the
    // request's span from the client's traceparent: the route span nests in it. Elsewhere this is
    // the request's SERVER span, a child of the client's context.
    const serverSpan = trace.getActiveSpan();
    const parent =
      serverSpan === undefined
        ? contextFrom({ traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') })
        : context.active();
    const kind = serverSpan === undefined ? SpanKind.SERVER : SpanKind.INTERNAL;
    const attributes = { 'http.request.method': c.req.method, 'url.path': c.req.path };
    await inSpan(tracer, c.req.method, { kind, attributes, parent }, async (span) => {
      await next();
      span.updateName(`${c.req.method} ${c.req.routePath}`);
      span.setAttribute('http.route', c.req.routePath);
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    });
  };
}

/** Marks the request's span (if any) with an attribute: a cache hit or miss, for example. */
export function annotateRequest(key: string, value: string): void {
  trace.getActiveSpan()?.setAttribute(key, value);
}
