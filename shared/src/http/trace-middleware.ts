// A SERVER span per HTTP request for services whose runtime has no automatic HTTP instrumentation
// (Bun.serve and Deno.serve bypass node:http): the client's traceparent is the parent, the matched
// route names the span, the status is an attribute, a 5xx is an error. @opentelemetry/api only.

import type { Attributes, Context, Link, Span, Tracer } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { inSpan } from '../telemetry/spans.ts';
import { contextFrom } from '../telemetry/trace-context.ts';
import { methodLabel } from './metrics.ts';

/** What a request's span starts with: its parent, kind, first attributes and links. */
function requestSpanStart(
  method: string,
  path: string,
  header: (name: string) => string | undefined,
): { parent: Context; kind: SpanKind; attributes: Attributes; links?: Link[] } {
  const attributes = { 'http.request.method': method, 'url.path': path };
  // Header names are case-insensitive (Fetch's Headers and Hono's header() read them so): a
  // client's `Traceparent` (Python's urllib) is its traceparent.
  const client = contextFrom({ traceparent: header('traceparent'), tracestate: header('tracestate') });
  const clientSpan = trace.getSpanContext(client);
  // A runtime that instruments its server itself (Deno with OTEL_DENO) has already started the
  // request's span from the client's traceparent: the route span nests in it. Elsewhere this is
  // the request's SERVER span, a child of the client's context.
  const serverSpan = trace.getActiveSpan();
  if (serverSpan === undefined) return { parent: client, kind: SpanKind.SERVER, attributes };
  // Deno's own extraction misses a traceparent whose name is not written in lower case, and
  // starts a new trace: the client's trace goes on from here instead (this span is then the
  // request's SERVER span in it), linked to the runtime's span so neither is lost.
  const runtimeSpan = serverSpan.spanContext();
  if (clientSpan !== undefined && clientSpan.traceId !== runtimeSpan.traceId) {
    return { parent: client, kind: SpanKind.SERVER, attributes, links: [{ context: runtimeSpan }] };
  }
  return { parent: context.active(), kind: SpanKind.INTERNAL, attributes };
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
  const span = tracer.startSpan(
    method,
    {
      kind: start.kind,
      attributes: start.attributes,
      ...(start.links === undefined ? {} : { links: start.links }),
    },
    start.parent,
  );
  span.setAttributes(answered.attributes);
  finishRequestSpan(span, method, answered.route, answered.status);
  span.end();
}

/** Marks the request's span (if any) with an attribute: a cache hit or miss, for example. */
export function annotateRequest(key: string, value: string): void {
  trace.getActiveSpan()?.setAttribute(key, value);
}
