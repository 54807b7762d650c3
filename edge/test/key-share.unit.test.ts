// The edge's app with auth on, as a unit (keys and ingest's admission played in-process): the
// batcher's per-client pending share is per API key, not per address; a key with limits is
// admitted before anything is submitted (429 with the headers, nothing forwarded; a 202 carries
// them); a key without limits is never sent to admission.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKey } from '@sluice/shared/auth/api-key';
import type { Principal } from '@sluice/shared/auth/principal';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { appError, ok } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { ecommerceEvent } from '../../shared/test/verdict.ts';
import type { AdmitAtIngest } from '../src/admission-client.ts';
import { createEdgeApp } from '../src/app.ts';
import { createBatcher } from '../src/batcher.ts';
import type { Forward } from '../src/forward.ts';
import { NO_WEBHOOKS } from './no-webhooks.ts';

const A = generateKey();
const B = generateKey();
const LIMITED = generateKey();
const principals = new Map<string, Principal>([
  [A.key, { keyId: A.id, tenant: 'acme', scopes: ['events:write'], expiresAt: null, limits: {} }],
  [B.key, { keyId: B.id, tenant: 'acme', scopes: ['events:write'], expiresAt: null, limits: {} }],
  [
    LIMITED.key,
    {
      keyId: LIMITED.id,
      tenant: 'acme',
      scopes: ['events:write'],
      expiresAt: null,
      limits: { eventsPerSecond: 5 },
    },
  ],
]);

let n = 0;
const body = (count: number) =>
  JSON.stringify(
    Array.from({ length: count }, () =>
      ecommerceEvent({ transaction_id: `share-${n++}`, timestamp: Date.now() - 1_000 }),
    ),
  );

function edgeWith(forward: Forward, admit: AdmitAtIngest) {
  const http = createHttpMetrics('key-share-test');
  return createEdgeApp({
    auth: { mode: 'on', verify: (key) => principals.get(key) },
    opsOpen: true,
    admit,
    streams: streamRegistry(),
    limits: DEFAULT_LIMITS,
    batcher: createBatcher(forward, {
      maxEvents: 100,
      maxBytes: 1 << 20,
      maxWaitMs: 5,
      maxPending: 1_000,
      maxPendingPerClient: 5,
    }),
    inflight: inflightLimit({ maxRequests: 64, maxBytes: 64 << 20, unknownBodyBytes: 1 << 20 }),
    metrics: { http, intake: createIntakeMetrics(http.registry) },
    webhooks: NO_WEBHOOKS,
    now: Date.now,
    logError: () => {},
  });
}

const post = (app: ReturnType<typeof edgeWith>, key: string, count: number) =>
  app.request(
    '/v1/events',
    {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body(count),
    },
    // Every request from one address: only the key tells the clients apart.
    { remoteAddress: '10.0.0.1' },
  );

test('the pending share is per key: one key full does not hold back another from the same address', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const forward: Forward = async (lines) => {
    await gate;
    const ids = lines.map((line) => (JSON.parse(line) as { id: string }).id);
    return ok({ accepted: ids.length, ids, rejected: [] });
  };
  const app = edgeWith(forward, () => Promise.reject(new Error('no key here has limits')));
  const first = post(app, A.key, 5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const other = post(app, B.key, 5);
  const over = await post(app, A.key, 1);
  assert.equal(over.status, 503);
  assert.match(((await over.json()) as { error: { message: string } }).error.message, /this client/);
  release();
  assert.equal((await first).status, 202);
  assert.equal((await other).status, 202);
});

test('a key with limits: a 429 forwards nothing; an admitted request is forwarded and carries the headers', async () => {
  const forwarded: number[] = [];
  const forward: Forward = async (lines) => {
    forwarded.push(lines.length);
    const ids = lines.map((line) => (JSON.parse(line) as { id: string }).id);
    return ok({ accepted: ids.length, ids, rejected: [] });
  };
  const asked: [string, number][] = [];
  const headers = { 'RateLimit-Policy': '"events";q=5;w=1', RateLimit: '"events";r=0;t=1' };
  let allow = false;
  const app = edgeWith(forward, async (key, events) => {
    asked.push([key, events]);
    return allow
      ? { allowed: true, headers }
      : {
          allowed: false,
          headers,
          error: appError('rate_limited', 'rate limit exceeded', { retryAfterSeconds: 1 }),
        };
  });
  const refused = await post(app, LIMITED.key, 3);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal(refused.headers.get('ratelimit-policy'), headers['RateLimit-Policy']);
  assert.deepEqual(forwarded, []);
  allow = true;
  const admitted = await post(app, LIMITED.key, 3);
  assert.equal(admitted.status, 202);
  assert.equal(admitted.headers.get('ratelimit'), headers.RateLimit);
  assert.deepEqual(forwarded, [3]);
  assert.deepEqual(asked, [
    [LIMITED.key, 3],
    [LIMITED.key, 3],
  ]);
  // A key without limits is never asked.
  assert.equal((await post(app, A.key, 2)).status, 202);
  assert.equal(asked.length, 2);
});
