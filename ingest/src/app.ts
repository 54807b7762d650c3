// The ingest HTTP surface: event intake, health, readiness (Kafka reachable, a producer that can
// send) and metrics.

import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { InflightLimit } from '@sluice/shared/http/inflight-limit';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import type { KafkaAdmin } from '@sluice/shared/kafka/port';
import type { RenewingProducer } from '@sluice/shared/kafka/renewing-producer';
import type { Logger } from '@sluice/shared/log';
import { appError } from '@sluice/shared/result';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { EventsRouteDeps } from './events-route.ts';
import { eventsHandler } from './events-route.ts';

export interface IngestDeps extends EventsRouteDeps {
  readonly log: Logger;
  readonly admin: KafkaAdmin;
  readonly http: HttpMetrics;
  readonly producer: RenewingProducer;
  /** Bounds the intake requests and bytes held at once (503 beyond); made in main.ts. */
  readonly inflight: InflightLimit;
}

export type IngestEnv = { Variables: BaseVariables };

export function createIngestApp(deps: IngestDeps): Hono<IngestEnv> {
  const app = new Hono<IngestEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.use('*', deps.http.middleware);

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
  app.post(
    '/v1/events',
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
  return app;
}
