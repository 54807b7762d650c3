// The query API's OpenAPI 3.1 document, served at /openapi.json and rendered at /docs. It is made
// from the routes the app serves (serveRoute declares each as it serves it), so it names every
// served route and no other; CONTRACTS lists the same contracts for tools that need the document
// without a running service (client/scripts/openapi-types.ts), and the contract test holds the
// two equal.

import type { RouteConfig } from '@hono/zod-openapi';
import { OpenAPIHono } from '@hono/zod-openapi';
import { CREATE_KEY, LIST_KEYS, REVOKE_KEY, USAGE } from './admin-keys.ts';
import { ADD_SOURCE, LIST_SOURCES, REMOVE_SOURCE, RETIRE_SOURCE, ROTATE_SOURCE } from './admin-webhooks.ts';
import type { QueryEnv } from './contract.ts';
import { declareSecurity, OPENAPI_INFO } from './contract.ts';
import { docsPage } from './docs-page.ts';
import { LIVE } from './live.ts';
import { HEALTHZ, METRICS, READYZ } from './ops.ts';
import { STREAM, STREAM_HEALTH, STREAMS } from './streams.ts';
import { TOP } from './top.ts';
import { WINDOWS } from './windows.ts';

/** Every contract the app serves (the contract test checks this list against the app). */
export const CONTRACTS: readonly RouteConfig[] = [
  STREAMS,
  STREAM,
  STREAM_HEALTH,
  WINDOWS,
  TOP,
  LIVE,
  CREATE_KEY,
  LIST_KEYS,
  REVOKE_KEY,
  ADD_SOURCE,
  LIST_SOURCES,
  REMOVE_SOURCE,
  ROTATE_SOURCE,
  RETIRE_SOURCE,
  USAGE,
  HEALTHZ,
  READYZ,
  METRICS,
];

/** The document of CONTRACTS, without an app (for the client's type generator). */
export function contractsDocument() {
  const registry = new OpenAPIHono<QueryEnv>();
  declareSecurity(registry);
  for (const contract of CONTRACTS) registry.openAPIRegistry.registerPath(contract);
  return registry.getOpenAPI31Document(OPENAPI_INFO);
}

/** GET /openapi.json and /docs: the app's own document (what it serves), open to anyone. */
export function documentRoutes(app: OpenAPIHono<QueryEnv>): void {
  app.doc31('/openapi.json', OPENAPI_INFO);
  app.get('/docs', (c) => c.html(docsPage(app.getOpenAPI31Document(OPENAPI_INFO))));
}
