// POST /v1/events: parse, validate per event, admit (rate limits and quota of the caller's key),
// produce to Kafka, and answer 202 only once Kafka acknowledged every accepted event.

import type { Span } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Admission } from '@sluice/shared/auth/admission';
import type { Principal } from '@sluice/shared/auth/principal';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { encodeEvent } from '@sluice/shared/events/envelope';
import type { IntakeLimits, IntakeResponse } from '@sluice/shared/events/intake';
import { allRejected, readEvents } from '@sluice/shared/events/intake';
import { countAccepted, countRead } from '@sluice/shared/events/intake-metrics';
import { recordBytes } from '@sluice/shared/events/record-size';
import type { Rejection, TenantRule } from '@sluice/shared/events/validate';
import { TENANT_FROM_BODY } from '@sluice/shared/events/validate';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { KafkaProducer, OutgoingRecord } from '@sluice/shared/kafka/port';
import type { Logger } from '@sluice/shared/log';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { topicNames } from '@sluice/shared/streams/registry';
import { inSpan } from '@sluice/shared/telemetry/spans';
import { contextFrom, headersFor, validTraceHeaders } from '@sluice/shared/telemetry/trace-context';
import type { Context } from 'hono';
import { admitOrRefuse } from './auth-routes.ts';
import type { IngestMetrics } from './metrics.ts';

const tracer = trace.getTracer('sluice-ingest');

export interface EventsRouteDeps {
  readonly streams: StreamRegistry;
  readonly producer: KafkaProducer;
  readonly topicPrefix: string;
  readonly limits: IntakeLimits;
  /** Bytes of value, key and headers per Kafka record (record-size.ts); a per-event 400 beyond. */
  readonly maxRecordBytes: number;
  readonly metrics: IngestMetrics;
  readonly admission: Admission;
  readonly log: Logger;
  readonly now: () => number;
}

type EventsContext = Context<{ Variables: AuthVariables }>;

/**
 * The edge (an `events:relay` key) put its client's key's tenant on each event and admitted the
 * request already: trusted as sent. With auth off the principal holds every scope, so the body's
 * tenant stands as before. Any other caller writes for its key's tenant only.
 */
const isRelay = (p: Principal): boolean => p.scopes.includes('events:relay');
const tenantRule = (p: Principal): TenantRule =>
  isRelay(p) ? TENANT_FROM_BODY : { from: 'key', tenant: p.tenant };

/** Events per tenant, as usage counts them. */
function perTenant(events: readonly SluiceEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.tenant, (counts.get(event.tenant) ?? 0) + 1);
  return counts;
}

/** The Kafka record of an accepted event, for its stream's topic. */
function toRecord(
  event: SluiceEvent,
  topic: string,
  headers: Readonly<Record<string, string>>,
): OutgoingRecord {
  return {
    topic,
    // STYLE #9: the Kafka key is the group-by key, so one window's events share a partition.
    key: event.key,
    value: encodeEvent(event),
    headers,
  };
}

/**
 * One `send <topic>` PRODUCER span per topic of a request, children of the request's span; each
 * record carries its span's context in `traceparent`, so the processor continues the trace.
 */
function producerSpans(
  events: readonly SluiceEvent[],
  topicPrefix: string,
  client: Readonly<Record<string, string>>,
): { records: OutgoingRecord[]; spans: Span[] } {
  const byTopic = new Map<string, { span: Span; headers: Readonly<Record<string, string>>; count: number }>();
  const records = events.map((event) => {
    const topic = topicNames(event.stream, topicPrefix).events;
    let producing = byTopic.get(topic);
    if (producing === undefined) {
      const span = tracer.startSpan(`send ${topic}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
        },
      });
      // A header on every record costs the Kafka client per record on both sides, so only a sampled
      // span's context rides along; an unsampled request's records carry none (the processor then
      // samples its batch on its own), nor do they when no SDK runs (then the client's, if any).
      const injected = span.isRecording() ? headersFor(trace.setSpan(context.active(), span)) : {};
      producing = { span, headers: injected.traceparent === undefined ? client : injected, count: 0 };
      byTopic.set(topic, producing);
    }
    producing.count += 1;
    return toRecord(event, topic, producing.headers);
  });
  for (const { span, count } of byTopic.values()) span.setAttribute('messaging.batch.message_count', count);
  return { records, spans: [...byTopic.values()].map((p) => p.span) };
}

export function eventsHandler(deps: EventsRouteDeps) {
  const handle = intake(deps);
  return function postEvents(c: EventsContext): Promise<Response> {
    // The client's trace context (W3C traceparent/tracestate), if valid, is this span's parent.
    const parent = contextFrom(clientTraceHeaders(c));
    // The key's id and tenant, never the key (issue 21: no secrets in traces).
    const attributes = {
      'http.request.method': 'POST',
      'http.route': '/v1/events',
      'sluice.key_id': c.var.principal.keyId,
      'sluice.tenant': c.var.principal.tenant,
    };
    return inSpan(tracer, 'POST /v1/events', { kind: SpanKind.SERVER, attributes, parent }, async (span) => {
      const response = await handle(c);
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    });
  };
}

/** The client's trace headers that may be copied onto records: only valid ones (trace-context.ts). */
function clientTraceHeaders(c: Context): { traceparent?: string; tracestate?: string } {
  return validTraceHeaders({
    traceparent: c.req.header('traceparent'),
    tracestate: c.req.header('tracestate'),
  });
}

/**
 * Records past `maxRecordBytes` are taken out and become per-event rejections (their index in the
 * request), so what is sent always fits the broker's `message.max.bytes`.
 */
function splitOversized(
  records: readonly OutgoingRecord[],
  events: readonly SluiceEvent[],
  acceptedIndexes: readonly number[],
  maxRecordBytes: number,
): { records: OutgoingRecord[]; events: SluiceEvent[]; rejected: Rejection[] } {
  const fitting: { records: OutgoingRecord[]; events: SluiceEvent[]; rejected: Rejection[] } = {
    records: [],
    events: [],
    rejected: [],
  };
  records.forEach((record, i) => {
    const event = events[i];
    if (event === undefined) return;
    const value = typeof record.value === 'string' ? record.value : '';
    const bytes = recordBytes({ key: record.key, value, headers: record.headers ?? {} }, maxRecordBytes);
    if (bytes <= maxRecordBytes) {
      fitting.records.push(record);
      fitting.events.push(event);
      return;
    }
    const message = `event's Kafka record is ${bytes} bytes (envelope, key and headers); the limit is ${maxRecordBytes}`;
    fitting.rejected.push({
      index: acceptedIndexes[i] ?? i,
      id: event.id,
      errors: [{ path: '(event)', message }],
    });
  });
  return fitting;
}

function intake(deps: EventsRouteDeps) {
  return async function handle(c: EventsContext): Promise<Response> {
    const principal = c.var.principal;
    const read = await readEvents(c.req.raw, deps.streams, deps.limits, deps.now(), tenantRule(principal));
    countRead(deps.metrics, read);
    if (!read.ok) return errorResponse(c, read.error);
    const verdicts = read.value;

    const { records: encoded, spans } = producerSpans(
      verdicts.accepted,
      deps.topicPrefix,
      clientTraceHeaders(c),
    );
    const {
      records,
      events: accepted,
      rejected: oversized,
    } = splitOversized(encoded, verdicts.accepted, verdicts.acceptedIndexes, deps.maxRecordBytes);
    const rejected =
      oversized.length === 0
        ? verdicts.rejected
        : [...verdicts.rejected, ...oversized].sort((a, b) => a.index - b.index);
    if (oversized.length > 0) deps.metrics.rejected.inc({ reason: 'validation_failed' }, oversized.length);
    if (records.length === 0) {
      for (const span of spans) span.end();
      return errorResponse(c, allRejected(rejected));
    }
    // Issue 21, item 4: the whole request is admitted or refused before anything is produced, so
    // nothing of a 429 is ever in Kafka. A relay's request was admitted at the edge already.
    if (!isRelay(principal)) {
      const admitted = await admitOrRefuse(c, deps.admission, principal, records.length, deps.log);
      if (!admitted.ok) {
        for (const span of spans) span.end();
        return admitted.response;
      }
    }
    const started = performance.now();
    const sent = await deps.producer.send(records);
    for (const span of spans) {
      if (!sent.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: sent.error.code });
      span.end();
    }
    deps.metrics.produceLatency.observe(
      { outcome: sent.ok ? 'ok' : 'error' },
      (performance.now() - started) / 1000,
    );
    // INVARIANT (guarantee 1): 202 only after acks=all for every accepted event; otherwise 503 and
    // the client retries the whole request (ids make the retry idempotent downstream).
    if (!sent.ok) return errorResponse(c, sent.error);

    countAccepted(deps.metrics, accepted);
    // Usage counts what Kafka acknowledged, relayed events included (in main.ts, tallied and added
    // every 100 ms: usage lags by that much). Redis failing loses usage, not events.
    await deps.admission.countAccepted(perTenant(accepted)).catch((error: unknown) => {
      deps.log.warn({ err: error }, 'could not count accepted events into usage');
    });
    const body: IntakeResponse = {
      accepted: accepted.length,
      ids: accepted.map((event) => event.id),
      rejected,
    };
    return c.json(body, 202);
  };
}
