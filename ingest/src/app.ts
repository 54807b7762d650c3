// The ingest HTTP surface. Event intake (POST /v1/events) lands with the pipeline; this is the
// skeleton every route hangs off: request ids, the error envelope, health.

import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import type { Logger } from '@sluice/shared/log';
import { Hono } from 'hono';

export interface IngestDeps {
  readonly log: Logger;
}

export type IngestEnv = { Variables: BaseVariables };

export function createIngestApp(deps: IngestDeps): Hono<IngestEnv> {
  const app = new Hono<IngestEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  return app;
}
