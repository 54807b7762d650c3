// The edge's verified-key cache (a unit: ingest's GET /v1/auth/key played by a fake fetch): one ask
// per key for concurrent requests, answers kept for the TTL (refusals for 1 s), expiry checked per
// request, and ingest unreachable or failing is KeyCheckUnavailable (a 503 at the edge), never a
// refusal.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKey } from '@sluice/shared/auth/api-key';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { ok } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { createEdgeApp } from '../src/app.ts';
import { createKeyCache, KeyCheckUnavailable } from '../src/key-cache.ts';
import { NO_WEBHOOKS } from './no-webhooks.ts';

const principal = (expiresAt: number | null = null) => ({
  keyId: 'abcdefghijklmnop',
  tenant: 'acme',
  scopes: ['events:write', 'not-a-scope'],
  expiresAt,
  limits: { eventsPerSecond: 5 },
});

/** A fake ingest: answers by key, counts asks, and lets a test hold answers back. */
function fakeIngest(answer: (key: string) => Response | Promise<Response>) {
  const asked: string[] = [];
  const fetchFn = (async (_url: string | URL | Request, init?: RequestInit) => {
    const header = new Headers(init?.headers).get('authorization') ?? '';
    const key = header.replace(/^Bearer /, '');
    asked.push(key);
    return answer(key);
  }) as typeof fetch;
  return { asked, fetch: fetchFn };
}

test('concurrent asks for one key are one ask; the answer is kept for the TTL, then asked again', async () => {
  let now = 1_000;
  const ingest = fakeIngest(async (_key) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return Response.json(principal());
  });
  const cache = createKeyCache({
    ingestUrl: 'http://ingest.test',
    ttlMs: 2_000,
    fetch: ingest.fetch,
    now: () => now,
  });
  const { key } = generateKey();
  const answers = await Promise.all(Array.from({ length: 10 }, () => cache.verify(key)));
  assert.equal(ingest.asked.length, 1);
  assert.deepEqual(answers[0], { ...principal(), scopes: ['events:write'] });
  now += 1_999;
  await cache.verify(key);
  assert.equal(ingest.asked.length, 1);
  now += 2;
  await cache.verify(key);
  assert.equal(ingest.asked.length, 2);
});

test('a refused key stays refused for 1 s without asking; then it is asked again', async () => {
  let now = 0;
  const ingest = fakeIngest(() => new Response('{}', { status: 401 }));
  const cache = createKeyCache({
    ingestUrl: 'http://ingest.test',
    ttlMs: 2_000,
    fetch: ingest.fetch,
    now: () => now,
  });
  const { key } = generateKey();
  assert.equal(await cache.verify(key), undefined);
  assert.equal(await cache.verify(key), undefined);
  assert.equal(ingest.asked.length, 1);
  now += 1_001;
  assert.equal(await cache.verify(key), undefined);
  assert.equal(ingest.asked.length, 2);
});

test('a cached key past its expiry is refused at once', async () => {
  let now = 0;
  const ingest = fakeIngest(() => Response.json(principal(500)));
  const cache = createKeyCache({
    ingestUrl: 'http://ingest.test',
    ttlMs: 2_000,
    fetch: ingest.fetch,
    now: () => now,
  });
  const { key } = generateKey();
  assert.notEqual(await cache.verify(key), undefined);
  now = 500;
  assert.equal(await cache.verify(key), undefined);
});

test('ingest unreachable or failing: KeyCheckUnavailable, not a refusal, and nothing cached', async () => {
  let mode: 'down' | '500' | 'up' = 'down';
  const ingest = fakeIngest(() => {
    if (mode === 'down') throw new TypeError('connection refused');
    return mode === '500' ? new Response('oops', { status: 500 }) : Response.json(principal());
  });
  const cache = createKeyCache({ ingestUrl: 'http://ingest.test', ttlMs: 2_000, fetch: ingest.fetch });
  const { key } = generateKey();
  await assert.rejects(cache.verify(key), KeyCheckUnavailable);
  mode = '500';
  await assert.rejects(cache.verify(key), KeyCheckUnavailable);
  mode = 'up';
  assert.equal((await cache.verify(key))?.tenant, 'acme');
});

test('the cache is bounded: the least recently used keys leave', async () => {
  const ingest = fakeIngest(() => Response.json(principal()));
  const cache = createKeyCache({
    ingestUrl: 'http://ingest.test',
    ttlMs: 2_000,
    maxEntries: 3,
    fetch: ingest.fetch,
  });
  for (let i = 0; i < 10; i += 1) await cache.verify(generateKey().key);
  assert.equal(cache.size, 3);
});

test('at the edge, ingest unreachable for a key check is a 503 with Retry-After, not a 401', async () => {
  const cache = createKeyCache({
    ingestUrl: 'http://ingest.test',
    ttlMs: 2_000,
    fetch: (() => Promise.reject(new TypeError('connection refused'))) as typeof fetch,
  });
  const http = createHttpMetrics('key-cache-test');
  const app = createEdgeApp({
    auth: { mode: 'on', verify: (key) => cache.verify(key) },
    opsOpen: false,
    admit: () => Promise.reject(new Error('not reached: the key is not verified')),
    streams: streamRegistry(),
    limits: DEFAULT_LIMITS,
    batcher: { submit: async () => ok({ ids: [], rejected: [] }), close: async () => {} },
    inflight: inflightLimit({ maxRequests: 8, maxBytes: 1 << 20, unknownBodyBytes: 1 << 20 }),
    metrics: { http, intake: createIntakeMetrics(http.registry) },
    webhooks: NO_WEBHOOKS,
    now: Date.now,
    logError: () => {},
  });
  const headers = { authorization: `Bearer ${generateKey().key}`, 'content-type': 'application/json' };
  for (const [path, method] of [
    ['/v1/events', 'POST'],
    ['/healthz', 'GET'],
  ] as const) {
    const res = await app.request(path, { method, headers, ...(method === 'POST' ? { body: '[]' } : {}) });
    assert.equal(res.status, 503, path);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable');
  }
});
