// POST /v1/webhooks/{id} at the edge (issue 22, item 2). No API key (a provider cannot send one):
// the id in the URL names the source, the signature is the proof. The edge verifies the signature
// itself over the raw bytes (shared verifyDelivery, as ingest does), so a forgery is refused here
// and never costs ingest a request (../shared/DESIGN.md: the edge does "auth (API key / HMAC
// webhook signature)"); a verified delivery goes on to ingest unchanged (webhook-relay.ts), which
// verifies again, records it and answers after Kafka acked, and that answer is the provider's.
// The order of the verdicts is ingest's: unknown source 404, then size 413/408, empty 400, then the
// signature 401 (or 400 for what was signed), then ingest's own.
// Slack's url_verification is forwarded like any verified delivery: ingest answers the challenge.

import { trace } from '@opentelemetry/api';
import type { IntakeLimits } from '@sluice/shared/events/intake';
import { readBodyBytes } from '@sluice/shared/events/parse-body';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { InflightLimit } from '@sluice/shared/http/inflight-limit';
import { REQUEST_ID_HEADER } from '@sluice/shared/http/request-id';
import { appError } from '@sluice/shared/result';
import type { RefusalReason } from '@sluice/shared/webhooks/scheme';
import type { Provider, WebhookSource } from '@sluice/shared/webhooks/source';
import { verifyDelivery } from '@sluice/shared/webhooks/verify';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { EdgeEnv } from './app.ts';
import type { RelayDelivery } from './webhook-relay.ts';
import type { SourceCache } from './webhook-sources.ts';

export interface WebhookDeps {
  /** Sources as ingest knows them, cached briefly (webhook-sources.ts). */
  readonly sources: SourceCache;
  /** One delivery on to ingest (webhook-relay.ts). */
  readonly relay: RelayDelivery;
  /** Refusals at the edge by provider and reason: both labels are enums, never the source id. */
  readonly refusals: { inc(labels: { provider: Provider; reason: RefusalReason }): void };
}

export interface WebhookRouteDeps {
  readonly webhooks: WebhookDeps;
  readonly limits: IntakeLimits;
  readonly inflight: InflightLimit;
  readonly now: () => number;
}

/** What the route's first step leaves for the handler. */
export type WebhookVariables = { webhookSource: WebhookSource };

const NO_SOURCE = appError('not_found', 'no such webhook source');

/** The source's id and provider on the request's span; never a secret nor a signature. */
function note(source: WebhookSource): void {
  const span = trace.getActiveSpan();
  span?.setAttribute('sluice.webhook.source', source.id);
  span?.setAttribute('sluice.webhook.provider', source.provider);
  span?.setAttribute('sluice.tenant', source.tenant);
}

/**
 * 404 for an unknown source before anything else (no in-flight slot, no body read), 503 when
 * ingest cannot say (never a 404: an outage is not a verdict).
 */
function knownSource(sources: SourceCache): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const found = await sources.get(c.req.param('id') ?? '');
    if (!found.ok) return errorResponse(c, found.error);
    if (found.value === undefined) return errorResponse(c, NO_SOURCE);
    c.set('webhookSource', found.value);
    note(found.value);
    await next();
  };
}

/**
 * One event per delivery: the per-event size bounds the raw body. A declared length past it is a
 * 413 at once, before the in-flight bound weighs it (a huge declared length is a 413, not a 503).
 */
function declaredWithin(maxBytes: number): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes)
      return errorResponse(c, appError('payload_too_large', `a delivery exceeds ${maxBytes} bytes`));
    await next();
  };
}

async function receive(deps: WebhookRouteDeps, c: Context<EdgeEnv>): Promise<Response> {
  const source = c.var.webhookSource;
  const empty = appError('bad_request', 'request body is empty');
  if (c.req.raw.body === null) return errorResponse(c, empty);
  // Read whole under the size (413) and time (408) bounds: the signature is over these bytes.
  const body = await readBodyBytes(c.req.raw.body, {
    maxBytes: deps.limits.maxEventBytes,
    timeoutMs: deps.limits.bodyReadTimeoutMs ?? 30_000,
  });
  if (!body.ok) return errorResponse(c, body.error);
  if (body.value.byteLength === 0) return errorResponse(c, empty);
  const verified = await verifyDelivery(source, { headers: c.req.raw.headers, body: body.value }, deps.now());
  if (!verified.ok) {
    // Refused as ingest refuses it: the same envelope, status and reason, never the expected MAC.
    const { status, reason, message } = verified.error;
    deps.webhooks.refusals.inc({ provider: source.provider, reason });
    trace.getActiveSpan()?.setAttribute('sluice.webhook.refused', reason);
    return errorResponse(
      c,
      appError(status === 401 ? 'unauthorized' : 'bad_request', message, { details: { reason } }),
    );
  }
  // Ingest answers with the edge's request id, so the provider's log and both services' agree.
  const headers = new Headers(c.req.raw.headers);
  headers.set(REQUEST_ID_HEADER, c.var.requestId);
  const relayed = await deps.webhooks.relay(source.id, headers, body.value);
  if (!relayed.ok) return errorResponse(c, relayed.error);
  // Ingest's answer as it is; this route always answers with a body (JSON), so the status is one
  // that carries content.
  const answer = relayed.value;
  return c.body(answer.body, answer.status as ContentfulStatusCode, answer.headers);
}

/** Mounts the route on the edge's app, after its metrics and tracing middleware. */
export function mountWebhooks(app: Hono<EdgeEnv>, deps: WebhookRouteDeps): void {
  app.post(
    '/v1/webhooks/:id',
    knownSource(deps.webhooks.sources),
    declaredWithin(deps.limits.maxEventBytes),
    deps.inflight.middleware,
    (c) => receive(deps, c),
  );
}
