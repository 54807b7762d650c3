// The edge HTTP surface (Web APIs only). Intake and forwarding to ingest land with the pipeline.

import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { Hono } from 'hono';

export type EdgeEnv = { Variables: BaseVariables };

export function createEdgeApp(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  applyAppDefaults(app, {
    onUnexpected: (error) =>
      console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', error: String(error) })),
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  return app;
}
