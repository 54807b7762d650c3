// POST /v1/events: parse, validate per event, produce to Kafka, and answer 202 only once Kafka
// acknowledged every accepted event.

import type { Span } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { encodeEvent } from '@sluice/shared/events/envelope';
import type { IntakeLimits, IntakeResponse } from '@sluice/shared/events/intake';
import { readEvents } from '@sluice/shared/events/intake';
import { countAccepted, countRead } from '@sluice/shared/events/intake-metrics';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { KafkaProducer, OutgoingRecord } from '@sluice/shared/kafka/port';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { topicNames } from '@sluice/shared/streams/registry';
import { inSpan } from '@sluice/shared/telemetry/spans';
import { contextFrom, headersFor } from '@sluice/shared/telemetry/trace-context';
import type { Context } from 'hono';
import type { IngestMetrics } from './metrics.ts';

const tracer = trace.getTracer('sluice-ingest');

export interface EventsRouteDeps {
  readonly streams: StreamRegistry;
  readonly producer: KafkaProducer;
  readonly topicPrefix: string;
  readonly limits: IntakeLimits;
  readonly metrics: IngestMetrics;
  readonly now: () => number;
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
  return function postEvents(c: Context): Promise<Response> {
    // The client's trace context (W3C traceparent/tracestate), if any, is this span's parent.
    const parent = contextFrom({
      traceparent: c.req.header('traceparent'),
      tracestate: c.req.header('tracestate'),
    });
    const attributes = { 'http.request.method': 'POST', 'http.route': '/v1/events' };
    return inSpan(tracer, 'POST /v1/events', { kind: SpanKind.SERVER, attributes, parent }, async (span) => {
      const response = await handle(c);
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    });
  };
}

function intake(deps: EventsRouteDeps) {
  return async function handle(c: Context): Promise<Response> {
    const read = await readEvents(c.req.raw, deps.streams, deps.limits, deps.now());
    countRead(deps.metrics, read);
    if (!read.ok) return errorResponse(c, read.error);
    const verdicts = read.value;

    const traceparent = c.req.header('traceparent');
    const tracestate = c.req.header('tracestate');
    const client = {
      ...(traceparent === undefined ? {} : { traceparent }),
      ...(tracestate === undefined ? {} : { tracestate }),
    };
    const { records, spans } = producerSpans(verdicts.accepted, deps.topicPrefix, client);
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

    countAccepted(deps.metrics, verdicts.accepted);
    const body: IntakeResponse = {
      accepted: verdicts.accepted.length,
      ids: verdicts.accepted.map((event) => event.id),
      rejected: verdicts.rejected,
    };
    return c.json(body, 202);
  };
}
