// The ingest HTTP surface: event intake, health, readiness (Kafka reachable, a producer that can
// send) and metrics; for the edge, a key's principal (GET /v1/auth/key: its key cache asks) and
// admission (POST /v1/admission: the edge's rate limit check of a client's request); signed
// webhook deliveries (POST /v1/webhooks/{id}) and, for the edge, their sources.
// Every route needs a key when SLUICE_AUTH=on (ops ones unless SLUICE_OPS_OPEN).

import type { Admission } from '@sluice/shared/auth/admission';
import type { Auth, AuthVariables } from '@sluice/shared/auth/require-key';
import { opsAccess, requireScope } from '@sluice/shared/auth/require-key';
import { SCOPES } from '@sluice/shared/auth/scopes';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { InflightLimit } from '@sluice/shared/http/inflight-limit';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import type { KafkaAdmin } from '@sluice/shared/kafka/port';
import type { RenewingProducer } from '@sluice/shared/kafka/renewing-producer';
import { appError } from '@sluice/shared/result';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { admissionHandler, keyHandler } from './auth-routes.ts';
import type { EventsRouteDeps } from './events-route.ts';
import { eventsHandler } from './events-route.ts';
import type { WebhooksRouteDeps } from './webhooks-route.ts';
import { knownSource, sourceHandler, webhooksHandler } from './webhooks-route.ts';

export interface IngestDeps extends EventsRouteDeps, WebhooksRouteDeps {
  readonly auth: Auth;
  /** /healthz, /readyz and /metrics without a key (SLUICE_OPS_OPEN). */
  readonly opsOpen: boolean;
  readonly admission: Admission;
  readonly admin: KafkaAdmin;
  readonly http: HttpMetrics;
  readonly producer: RenewingProducer;
  /** Bounds the intake requests and bytes held at once (503 beyond); made in main.ts. */
  readonly inflight: InflightLimit;
}

export type IngestEnv = { Variables: BaseVariables & AuthVariables };

export function createIngestApp(deps: IngestDeps): Hono<IngestEnv> {
  const app = new Hono<IngestEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.use('*', deps.http.middleware);
  const ops = opsAccess(deps.auth, deps.opsOpen);
  for (const path of ['/healthz', '/readyz', '/metrics']) app.use(path, ops);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    // Not ready while the producer is being replaced: every send would be a 503 meanwhile.
    if (deps.producer.replacing)
      return errorResponse(
        c,
        appError('unavailable', 'the Kafka producer is being replaced after a fatal error', {
          retryAfterSeconds: 1,
        }),
      );
    if (await deps.admin.ping(2_000)) return c.json({ status: 'ready' });
    return errorResponse(c, appError('unavailable', 'Kafka is not reachable', { retryAfterSeconds: 2 }));
  });
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.http.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  // Any valid key may learn what it is (the edge's key cache asks with its client's key).
  app.get('/v1/auth/key', requireScope(deps.auth, ...SCOPES), keyHandler);
  app.post('/v1/admission', requireScope(deps.auth, 'events:write'), admissionHandler(deps));
  app.post(
    '/v1/events',
    // Before the in-flight bound: a request without a valid key holds no slot and no body bytes.
    requireScope(deps.auth, 'events:write', 'events:relay'),
    deps.inflight.middleware,
    // A compressed body is bounded on the wire here and again after decompression while parsing.
    bodyLimit({
      maxSize: deps.limits.maxRequestBytes,
      onError: (c) =>
        errorResponse(
          c,
          appError('payload_too_large', `request body exceeds ${deps.limits.maxRequestBytes} bytes`),
        ),
    }),
    eventsHandler(deps),
  );
  // Issue 22: the edge's relay key may learn a source (with its secrets) to verify deliveries itself.
  // Only with auth on: with it off every caller holds every scope, and a source id is in every
  // provider's settings; the secrets would be anyone's. (The edge then cannot verify: send
  // deliveries to ingest when running without keys.)
  if (deps.auth.mode === 'on')
    app.get('/v1/webhooks/sources/:id', requireScope(deps.auth, 'events:relay'), sourceHandler(deps.sources));
  // No key: a provider cannot send one. The id in the URL and the signature are the credentials.
  app.post(
    '/v1/webhooks/:id',
    knownSource(deps.sources),
    deps.inflight.middleware,
    bodyLimit({
      maxSize: deps.limits.maxEventBytes,
      onError: (c) =>
        errorResponse(
          c,
          appError('payload_too_large', `a delivery exceeds ${deps.limits.maxEventBytes} bytes`),
        ),
    }),
    webhooksHandler(deps),
  );
  return app;
}
