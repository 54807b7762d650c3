// POST /v1/webhooks/{id} (issue 22): a provider's signed delivery, verified over its raw bytes
// before anything is parsed, becomes one event of its source's stream, durable in Kafka before
// the 2xx (guarantee 1). The URL is the credential a provider can carry; the signature is the
// proof. The edge verifies first and sends the delivery on unchanged; ingest verifies again.
// GET /v1/webhooks/sources/{id}: a source with its secrets, for the edge's relay key only.

import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Principal } from '@sluice/shared/auth/principal';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import { readBodyBytes } from '@sluice/shared/events/parse-body';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { AppError } from '@sluice/shared/result';
import { appError } from '@sluice/shared/result';
import { inSpan } from '@sluice/shared/telemetry/spans';
import type { DeliveryLedger, FirstSeen } from '@sluice/shared/webhooks/delivery-ledger';
import { nodeMacs } from '@sluice/shared/webhooks/node-macs';
import { SOURCE_ID_PATTERN } from '@sluice/shared/webhooks/source';
import type { LiveSource, SourceTable } from '@sluice/shared/webhooks/source-table';
import { deliveryToEvent } from '@sluice/shared/webhooks/to-event';
import { verifyDelivery } from '@sluice/shared/webhooks/verify';
import type { Context, MiddlewareHandler } from 'hono';
import { admitOrRefuse } from './auth-routes.ts';
import type { EventsRouteDeps } from './events-route.ts';
import { perTenant } from './events-route.ts';
import { producerSpans, splitOversized } from './records.ts';

const tracer = trace.getTracer('sluice-ingest');

/** What POST /v1/events needs (the same producing path), and the sources and their ledger. */
export interface WebhooksRouteDeps extends EventsRouteDeps {
  readonly sources: SourceTable;
  readonly ledger: DeliveryLedger;
}

/** A source by the id in its URL: ids not shaped as ours are not looked up at all. */
export function sourceOf(sources: SourceTable, id: string): LiveSource | undefined {
  return SOURCE_ID_PATTERN.test(id) ? sources.get(id) : undefined;
}

const NO_SOURCE = appError('not_found', 'no such webhook source');

/**
 * 404 for an unknown source before anything else: no in-flight slot, no body read, and a size or
 * signature verdict only for a URL that names a source (the order the hostile suite holds).
 */
export function knownSource(sources: SourceTable): MiddlewareHandler {
  return async (c, next) => {
    if (sourceOf(sources, c.req.param('id') ?? '') === undefined) return errorResponse(c, NO_SOURCE);
    await next();
  };
}

/**
 * The principal a delivery is admitted as: the source, for its tenant's daily quota (webhook
 * deliveries are events like any other; a provider cannot be told to slow down per key).
 */
const sourcePrincipal = ({ source, dailyEvents }: LiveSource): Principal => ({
  keyId: source.id,
  tenant: source.tenant,
  scopes: [],
  expiresAt: null,
  limits: dailyEvents === undefined ? {} : { dailyEvents },
});

export function webhooksHandler(deps: WebhooksRouteDeps) {
  return function postWebhook(c: Context): Promise<Response> {
    const attributes = { 'http.request.method': 'POST', 'http.route': '/v1/webhooks/{id}' };
    return inSpan(tracer, 'POST /v1/webhooks/{id}', { kind: SpanKind.SERVER, attributes }, async (span) => {
      const response = await receive(deps, c, (name, value) => span.setAttribute(name, value));
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    });
  };
}

async function receive(
  deps: WebhooksRouteDeps,
  c: Context,
  note: (name: string, value: string) => void,
): Promise<Response> {
  const live = sourceOf(deps.sources, c.req.param('id') ?? '');
  if (live === undefined) return errorResponse(c, NO_SOURCE);
  const { source } = live;
  // The source's id and tenant, never a secret nor a signature (no secrets in traces).
  note('sluice.webhook.source', source.id);
  note('sluice.webhook.provider', source.provider);
  note('sluice.tenant', source.tenant);
  const { outcomes, refusals } = deps.metrics.webhooks;
  if (c.req.raw.body === null) return errorResponse(c, appError('bad_request', 'request body is empty'));
  // One event per delivery: the per-event size bounds the raw body (413 beyond).
  const body = await readBodyBytes(c.req.raw.body, {
    maxBytes: deps.limits.maxEventBytes,
    timeoutMs: deps.limits.bodyReadTimeoutMs ?? 30_000,
  });
  if (!body.ok) return errorResponse(c, body.error);
  // As the edge answers it: nothing was signed, so nothing to verify.
  if (body.value.byteLength === 0) return errorResponse(c, appError('bad_request', 'request body is empty'));
  const now = deps.now();
  // node:crypto's HMAC: a tenth of Web Crypto's CPU per MAC (node-macs.ts; the edge keeps Web Crypto).
  const verified = await verifyDelivery(
    source,
    { headers: c.req.raw.headers, body: body.value },
    now,
    nodeMacs,
  );
  if (!verified.ok) {
    const { status, reason, message } = verified.error;
    refusals.inc({ provider: source.provider, reason });
    note('sluice.webhook.refused', reason);
    return errorResponse(
      c,
      appError(status === 401 ? 'unauthorized' : 'bad_request', message, { details: { reason } }),
    );
  }
  const delivery = verified.value;
  // Slack's url_verification: answered at once, nothing to count.
  if (delivery.challenge !== undefined) {
    outcomes.inc({ provider: source.provider, outcome: 'challenge' });
    return c.json({ challenge: delivery.challenge });
  }
  // Admitted before the first receive time is recorded: a delivery refused for the tenant's quota
  // (429) is retried by its provider later, and must then be a first copy at that receive time,
  // not a "redelivery" of nothing with the refusal's event time (late, for a retry hours after).
  const admitted = await admitOrRefuse(c, deps.admission, sourcePrincipal(live), 1, deps.log);
  if (!admitted.ok) return admitted.response;
  let seen: FirstSeen;
  try {
    const horizonMs = deps.streams.get(source.stream)?.dedupHorizonMs ?? 24 * 3600 * 1000;
    seen = await deps.ledger.firstSeen(source.id, delivery.id, now, horizonMs);
  } catch (error) {
    deps.log.warn({ source: source.id, err: error }, 'delivery ledger unreachable');
    return errorResponse(
      c,
      appError('unavailable', 'deliveries cannot be recorded right now', { retryAfterSeconds: 1 }),
    );
  }
  const { firstSeenMs, recorded } = seen;
  // A first copy that is not accepted (refused below, or not taken by Kafka) is forgotten: the
  // provider's retry (after a fix, or hours later) is a first copy at its own receive time, not a
  // "redelivery" carrying this one's, late by however long the provider waited. Only the attempt
  // that recorded it forgets it: a concurrent accepted copy's entry stays.
  const refuse = async (error: AppError): Promise<Response> => {
    if (recorded)
      await deps.ledger.forget(source.id, delivery.id, firstSeenMs).catch((failure: unknown) => {
        deps.log.warn({ source: source.id, err: failure }, 'could not forget an unaccepted delivery');
      });
    return errorResponse(c, error);
  };
  const verdict = deliveryToEvent(source, delivery, body.value.byteLength, {
    registry: deps.streams,
    firstSeenMs,
    now,
    maxEventBytes: deps.limits.maxEventBytes,
    maxDepth: deps.limits.maxDepth,
  });
  if (!verdict.ok) {
    outcomes.inc({ provider: source.provider, outcome: 'invalid' });
    return refuse(
      appError('validation_failed', 'the delivery does not make a valid event of its stream', {
        details: { errors: verdict.rejection.errors },
      }),
    );
  }
  const { records: encoded, spans } = producerSpans([verdict.event], deps.topicPrefix, {});
  const { records } = splitOversized(encoded, [verdict.event], [0], deps.maxRecordBytes);
  if (records.length === 0) {
    for (const span of spans) span.end();
    return refuse(
      appError('payload_too_large', `the delivery's Kafka record exceeds ${deps.maxRecordBytes} bytes`),
    );
  }
  const sent = await deps.producer.send(records);
  for (const span of spans) {
    if (!sent.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: sent.error.code });
    span.end();
  }
  // INVARIANT (guarantee 1): 2xx only after acks=all; the provider retries a 503 (same id: dedup).
  if (!sent.ok) return refuse(sent.error);
  const duplicate = !recorded;
  outcomes.inc({ provider: source.provider, outcome: duplicate ? 'redelivered' : 'accepted' });
  await deps.admission.countAccepted(perTenant([verdict.event])).catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not count an accepted delivery into usage');
  });
  return c.json({ id: verdict.event.id, stream: verdict.event.stream, redelivery: duplicate });
}

type RelayContext = Context<{ Variables: AuthVariables }>;

/** GET /v1/webhooks/sources/{id}: what the edge needs to verify a source's deliveries itself. */
export function sourceHandler(sources: SourceTable) {
  return function getSource(c: RelayContext): Response {
    const live = sourceOf(sources, c.req.param('id') ?? '');
    c.header('Cache-Control', 'no-store');
    if (live === undefined) return errorResponse(c, NO_SOURCE);
    const { id, tenant, provider, stream, options, secrets } = live.source;
    return c.json({ id, tenant, provider, stream, options, secrets });
  };
}
