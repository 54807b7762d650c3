// Accepted events as Kafka records: one `send <topic>` PRODUCER span per topic (its context in
// the records' traceparent), and records past the broker's size limit taken out as per-event
// rejections. Shared by POST /v1/events and POST /v1/webhooks/{id}.

import type { Span } from '@opentelemetry/api';
import { context, SpanKind, trace } from '@opentelemetry/api';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { encodeEvent } from '@sluice/shared/events/envelope';
import { recordBytes } from '@sluice/shared/events/record-size';
import type { Rejection } from '@sluice/shared/events/validate';
import type { OutgoingRecord } from '@sluice/shared/kafka/port';
import { topicNames } from '@sluice/shared/streams/registry';
import { headersFor, validTraceHeaders } from '@sluice/shared/telemetry/trace-context';
import type { Context } from 'hono';

const tracer = trace.getTracer('sluice-ingest');

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
export function producerSpans(
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

/** The client's trace headers that may be copied onto records: only valid ones (trace-context.ts). */
export function clientTraceHeaders(c: Context): { traceparent?: string; tracestate?: string } {
  return validTraceHeaders({
    traceparent: c.req.header('traceparent'),
    tracestate: c.req.header('tracestate'),
  });
}

/**
 * Records past `maxRecordBytes` are taken out and become per-event rejections (their index in the
 * request), so what is sent always fits the broker's `message.max.bytes`.
 */
export function splitOversized(
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
