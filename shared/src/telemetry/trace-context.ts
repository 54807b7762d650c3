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

// W3C Trace Context (level 1): version-traceid-parentid-flags, lowercase hex. Version ff is
// invalid; a later version may append fields after a dash, version 00 may not.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
/** The spec's bounds on tracestate: at most 32 list members, and 512 characters is what it asks to keep. */
export const MAX_TRACESTATE_LENGTH = 512;
export const MAX_TRACESTATE_MEMBERS = 32;
// key = simple-key / tenant@system; value = printable ASCII but ',' and '=', no trailing space.
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Whether a `traceparent` header value is well-formed W3C trace context naming a real span. */
export function isValidTraceparent(value: string): boolean {
  if (value.length > 256) return false;
  const match = TRACEPARENT.exec(value);
  if (match === null) return false;
  const [, version, traceId, spanId, , rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return false;
  return traceId !== ZERO_TRACE_ID && spanId !== ZERO_SPAN_ID;
}

/** Whether a `tracestate` header value is well-formed and within the spec's bounds. */
export function isValidTracestate(value: string): boolean {
  if (value.length > MAX_TRACESTATE_LENGTH) return false;
  let members = 0;
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    members += 1;
    if (members > MAX_TRACESTATE_MEMBERS || !TRACESTATE_MEMBER.test(member)) return false;
  }
  return true;
}

/**
 * The trace headers of a carrier that may travel on: a valid `traceparent`, and its `tracestate`
 * when that is valid too. An invalid traceparent is dropped with its tracestate (the request starts
 * a new trace); an invalid tracestate alone is dropped. INVARIANT: nothing a client sends is copied
 * onto a Kafka record unless it passed these checks, so a record's headers stay small and parseable.
 */
export function validTraceHeaders(carrier: Carrier): { traceparent?: string; tracestate?: string } {
  const { traceparent, tracestate } = carrier;
  if (traceparent === undefined || !isValidTraceparent(traceparent)) return {};
  if (tracestate === undefined || !isValidTracestate(tracestate)) return { traceparent };
  return { traceparent, tracestate };
}

/** The context a carrier propagates (`traceparent`, `tracestate`); the root context when none. */
export function contextFrom(carrier: Carrier): Context {
  const valid = validTraceHeaders(carrier);
  if (valid.traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, valid, getter);
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
