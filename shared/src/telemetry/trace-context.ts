// W3C trace context across hops: extracted from HTTP or Kafka headers, injected into the records a
// service produces. Only @opentelemetry/api: without an SDK (Bun, Deno, tracing off) every call
// is a no-op, so callers never branch on whether tracing runs.

import type { Context, Link, SpanContext } from '@opentelemetry/api';
import { isSpanContextValid, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';

type Carrier = Readonly<Record<string, string | undefined>>;

const getter = {
  keys: (carrier: Carrier) => Object.keys(carrier),
  get: (carrier: Carrier, key: string) => carrier[key],
};

/** The context a carrier propagates (`traceparent`, `tracestate`); the root context when none. */
export function contextFrom(carrier: Carrier): Context {
  if (carrier.traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier, getter);
}

/** Headers that carry `ctx` to the next hop (empty when it holds no span). */
export function headersFor(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The remote span a carrier names, if it names a valid one. */
export function spanContextFrom(carrier: Carrier): SpanContext | undefined {
  const sc = trace.getSpanContext(contextFrom(carrier));
  return sc !== undefined && isSpanContextValid(sc) ? sc : undefined;
}

/**
 * Where a batch of records came from, for a consumer span: the first sampled producing context as
 * the parent (so one event can be followed down one trace) and up to `maxLinks` distinct others as
 * links. Bounded, so a batch of 10,000 records never makes 10,000 links.
 */
export function batchOrigins(carriers: Iterable<Carrier>, maxLinks = 32): { parent: Context; links: Link[] } {
  let parent: SpanContext | undefined;
  const links: Link[] = [];
  // Records of one request share one traceparent: compare the raw header before parsing it.
  const seen = new Set<string>();
  for (const carrier of carriers) {
    if (links.length >= maxLinks) break;
    const raw = carrier.traceparent;
    if (raw === undefined || seen.has(raw)) continue;
    seen.add(raw);
    const sc = spanContextFrom(carrier);
    if (sc === undefined) continue;
    if (parent === undefined && (sc.traceFlags & TraceFlags.SAMPLED) !== 0) parent = sc;
    else links.push({ context: sc });
  }
  return { parent: parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent), links };
}
