// POST /v1/events: parse, validate per event, admit (rate limits and quota of the caller's key),
// produce to Kafka, and answer 202 only once Kafka acknowledged every accepted event.

import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Admission } from '@sluice/shared/auth/admission';
import type { Principal } from '@sluice/shared/auth/principal';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { IntakeLimits, IntakeResponse } from '@sluice/shared/events/intake';
import { allRejected, readEvents } from '@sluice/shared/events/intake';
import { countAccepted, countRead } from '@sluice/shared/events/intake-metrics';
import type { TenantRule } from '@sluice/shared/events/validate';
import { TENANT_FROM_BODY } from '@sluice/shared/events/validate';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { KafkaProducer } from '@sluice/shared/kafka/port';
import type { Logger } from '@sluice/shared/log';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import { inSpan } from '@sluice/shared/telemetry/spans';
import { contextFrom } from '@sluice/shared/telemetry/trace-context';
import type { Context } from 'hono';
import { admitOrRefuse } from './auth-routes.ts';
import type { IngestMetrics } from './metrics.ts';
import { clientTraceHeaders, producerSpans, splitOversized } from './records.ts';

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
export function perTenant(events: readonly SluiceEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.tenant, (counts.get(event.tenant) ?? 0) + 1);
  return counts;
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
