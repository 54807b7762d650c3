// POST /v1/events: parse, validate per event, produce to Kafka, and answer 202 only once Kafka
// acknowledged every accepted event.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { encodeEvent } from '@sluice/shared/events/envelope';
import type { IntakeLimits, IntakeResponse } from '@sluice/shared/events/intake';
import { readEvents } from '@sluice/shared/events/intake';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { KafkaProducer, OutgoingRecord } from '@sluice/shared/kafka/port';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { topicNames } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';
import type { IngestMetrics } from './metrics.ts';

export interface EventsRouteDeps {
  readonly streams: StreamRegistry;
  readonly producer: KafkaProducer;
  readonly topicPrefix: string;
  readonly limits: IntakeLimits;
  readonly metrics: IngestMetrics;
  readonly now: () => number;
}

export function toRecord(
  event: SluiceEvent,
  topicPrefix: string,
  traceparent: string | undefined,
): OutgoingRecord {
  return {
    topic: topicNames(event.stream, topicPrefix).events,
    // STYLE #9: the Kafka key is the group-by key, so one window's events share a partition.
    key: event.key,
    value: encodeEvent(event),
    headers: traceparent === undefined ? {} : { traceparent },
  };
}

export function eventsHandler(deps: EventsRouteDeps) {
  return async function postEvents(c: Context): Promise<Response> {
    const read = await readEvents(c.req.raw, deps.streams, deps.limits, deps.now());
    if (!read.ok) {
      deps.metrics.rejected.inc({ reason: read.error.code }, rejectedCount(read.error.details));
      return errorResponse(c, read.error);
    }
    const verdicts = read.value;
    if (verdicts.rejected.length > 0)
      deps.metrics.rejected.inc({ reason: 'validation_failed' }, verdicts.rejected.length);

    const traceparent = c.req.header('traceparent');
    const records = verdicts.accepted.map((event) => toRecord(event, deps.topicPrefix, traceparent));
    const started = performance.now();
    const sent = await deps.producer.send(records);
    deps.metrics.produceLatency.observe(
      { outcome: sent.ok ? 'ok' : 'error' },
      (performance.now() - started) / 1000,
    );
    // INVARIANT (guarantee 1): 202 only after acks=all for every accepted event; otherwise 503 and
    // the client retries the whole request (ids make the retry idempotent downstream).
    if (!sent.ok) return errorResponse(c, sent.error);

    const perStream = new Map<string, number>();
    for (const event of verdicts.accepted)
      perStream.set(event.stream, (perStream.get(event.stream) ?? 0) + 1);
    for (const [stream, count] of perStream) deps.metrics.accepted.inc({ stream }, count);
    const body: IntakeResponse = {
      accepted: verdicts.accepted.length,
      ids: verdicts.accepted.map((event) => event.id),
      rejected: verdicts.rejected,
    };
    return c.json(body, 202);
  };
}

function rejectedCount(details: unknown): number {
  if (typeof details === 'object' && details !== null && 'rejected' in details) {
    const rejected = (details as { rejected: unknown }).rejected;
    if (Array.isArray(rejected)) return rejected.length;
  }
  return 1;
}
