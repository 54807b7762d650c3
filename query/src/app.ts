// The query HTTP surface. Window reads, the cache and the dashboard land with the pipeline; this
// is the skeleton: request ids, the error envelope, health.

import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import type { Logger } from '@sluice/shared/log';
import { Hono } from 'hono';

export interface QueryDeps {
  readonly log: Logger;
}

export type QueryEnv = { Variables: BaseVariables };

export function createQueryApp(deps: QueryDeps): Hono<QueryEnv> {
  const app = new Hono<QueryEnv>();
  applyAppDefaults(app, { onUnexpected: (error) => deps.log.error({ err: error }, 'unhandled error') });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  return app;
}
