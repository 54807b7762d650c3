// The edge's readiness (/readyz) apart from its liveness (/healthz), as a container platform
// probes them (issue 26): ready while it accepts, 503 in the envelope once the drain began
// (guarantee 6: new requests go elsewhere while the batches in flight finish), alive throughout.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { ok } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { createEdgeApp } from '../src/app.ts';
import { createBatcher } from '../src/batcher.ts';
import { NO_WEBHOOKS } from './no-webhooks.ts';

test('/readyz is 200 while accepting and 503 once draining; /healthz stays 200', async () => {
  let draining = false;
  const http = createHttpMetrics('readiness-test');
  const app = createEdgeApp({
    auth: { mode: 'off', verify: async () => undefined },
    opsOpen: true,
    ready: () => !draining,
    admit: async () => ({ allowed: true, headers: {} }),
    streams: streamRegistry(),
    limits: DEFAULT_LIMITS,
    batcher: createBatcher(async () => ok({ accepted: 0, ids: [], rejected: [] }), {
      maxEvents: 10,
      maxBytes: 1 << 20,
      maxWaitMs: 5,
      maxPending: 10,
      maxPendingPerClient: 10,
    }),
    inflight: inflightLimit({ maxRequests: 4, maxBytes: 1 << 20, unknownBodyBytes: 1 << 10 }),
    metrics: { http, intake: createIntakeMetrics(http.registry) },
    webhooks: NO_WEBHOOKS,
    now: Date.now,
    logError: () => {},
  });
  assert.equal((await app.request('/readyz')).status, 200);
  draining = true;
  const refused = await app.request('/readyz');
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'unavailable');
  assert.equal((await app.request('/healthz')).status, 200);
});
