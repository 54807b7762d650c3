// The edge's relay of a verified delivery to ingest (a unit: ingest played by a fake fetch): the
// exact bytes and the provider's headers go on, hop-by-hop headers, credentials and trace context
// do not; an outage (no answer, 502/503/504) is retried within the budget, then a 503 with
// Retry-After; every other answer is ingest's, passed on at once with its status, body and headers.
// At the edge's app: ingest unable to say whether a source exists is a 503, never a 404, and a
// verified delivery ingest cannot take is a 503 with Retry-After.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { appError, fail, ok } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import type { WebhookSource } from '@sluice/shared/webhooks/source';
import { newSourceId, sourceOptionsSchema } from '@sluice/shared/webhooks/source';
import { createEdgeApp } from '../src/app.ts';
import { createRelay, relayedHeaders } from '../src/webhook-relay.ts';
import type { WebhookDeps } from '../src/webhooks-route.ts';

interface Sent {
  readonly url: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

function fakeIngest(answers: (() => Response | Promise<Response>)[]) {
  const sent: Sent[] = [];
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({
      url: String(url),
      headers: new Headers(init?.headers),
      body: new Uint8Array(init?.body as Uint8Array),
    });
    const answer = answers[Math.min(sent.length - 1, answers.length - 1)];
    if (answer === undefined) throw new Error('no answer');
    return answer();
  }) as typeof fetch;
  return { sent, fetch: fetchFn };
}

const body = new TextEncoder().encode('{"action":"opened","x":"\u00e9"}');

test("the provider's headers and exact bytes go on; hop-by-hop, credentials and trace context do not", async () => {
  const incoming = new Headers({
    'content-type': 'application/json',
    'x-hub-signature-256': 'sha256=abc',
    'x-github-delivery': 'd-1',
    'user-agent': 'GitHub-Hookshot/1',
    host: 'edge.example',
    'content-length': String(body.byteLength),
    authorization: 'Bearer slk_whatever',
    cookie: 'session=1',
    connection: 'keep-alive, x-hop',
    'x-hop': 'named by Connection',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.deepEqual([...relayedHeaders(incoming).keys()].sort(), [
    'content-type',
    'user-agent',
    'x-github-delivery',
    'x-hub-signature-256',
  ]);
  const ingest = fakeIngest([() => Response.json({ id: 'd-1', stream: 'webhooks', redelivery: false })]);
  const relay = createRelay({ ingestUrl: 'http://ingest.test', retries: 3, fetch: ingest.fetch });
  const id = newSourceId();
  const answer = await relay(id, incoming, body);
  assert.ok(answer.ok);
  assert.equal(answer.value.status, 200);
  assert.deepEqual(JSON.parse(answer.value.body), { id: 'd-1', stream: 'webhooks', redelivery: false });
  assert.equal(ingest.sent.length, 1);
  assert.equal(ingest.sent[0]?.url, `http://ingest.test/v1/webhooks/${id}`);
  assert.deepEqual(ingest.sent[0]?.body, body);
  assert.equal(ingest.sent[0]?.headers.get('x-hub-signature-256'), 'sha256=abc');
  assert.equal(ingest.sent[0]?.headers.get('authorization'), null);
});

test('no answer or a 503 is retried with the same bytes; then the answer is passed on', async () => {
  const ingest = fakeIngest([
    () => Promise.reject(new TypeError('connection refused')),
    () => Response.json({ error: { code: 'unavailable', message: 'kafka' } }, { status: 503 }),
    () => Response.json({ id: 'd-2', stream: 'webhooks', redelivery: true }),
  ]);
  const relay = createRelay({ ingestUrl: 'http://ingest.test', retries: 5, fetch: ingest.fetch });
  const answer = await relay(newSourceId(), new Headers(), body);
  assert.ok(answer.ok);
  assert.equal(answer.value.status, 200);
  assert.equal(ingest.sent.length, 3);
  for (const sent of ingest.sent) assert.deepEqual(sent.body, body);
});

test('an outage past the budget is a 503 with Retry-After, not a hang', async () => {
  const ingest = fakeIngest([() => new Response('{}', { status: 503, headers: { 'retry-after': '2' } })]);
  const relay = createRelay({
    ingestUrl: 'http://ingest.test',
    retries: 50,
    budgetMs: 300,
    fetch: ingest.fetch,
  });
  const started = Date.now();
  const answer = await relay(newSourceId(), new Headers(), body);
  assert.ok(Date.now() - started < 1_000);
  assert.ok(!answer.ok);
  assert.equal(answer.error.code, 'unavailable');
  assert.equal(answer.error.retryAfterSeconds, 2);

  // No Retry-After and no answer at all: retried with backoff until the budget, then 1 s.
  const down = fakeIngest([() => Promise.reject(new TypeError('connection refused'))]);
  const relayDown = createRelay({
    ingestUrl: 'http://ingest.test',
    retries: 50,
    budgetMs: 300,
    fetch: down.fetch,
  });
  const again = await relayDown(newSourceId(), new Headers(), body);
  assert.ok(!again.ok);
  assert.equal(again.error.retryAfterSeconds, 1);
  assert.ok(down.sent.length > 1, `retried (${down.sent.length} attempts)`);
});

test("ingest's refusals are passed on at once with their status, body and headers", async () => {
  for (const status of [400, 401, 404, 413, 429]) {
    const ingest = fakeIngest([
      () =>
        Response.json(
          { error: { code: 'x', message: 'y' } },
          {
            status,
            headers: { 'retry-after': '7', ratelimit: 'r=0', 'ratelimit-policy': 'q=1', 'x-other': 'no' },
          },
        ),
    ]);
    const relay = createRelay({ ingestUrl: 'http://ingest.test', retries: 5, fetch: ingest.fetch });
    const answer = await relay(newSourceId(), new Headers(), body);
    assert.ok(answer.ok);
    assert.equal(answer.value.status, status);
    assert.equal(ingest.sent.length, 1, `${status} not retried`);
    assert.deepEqual(answer.value.headers, {
      'content-type': 'application/json',
      'retry-after': '7',
      ratelimit: 'r=0',
      'ratelimit-policy': 'q=1',
    });
  }
});

/** The edge's app with these sources and relay (auth off: the route needs no key anyway). */
function appWith(webhooks: WebhookDeps) {
  const http = createHttpMetrics('webhook-relay-test');
  return createEdgeApp({
    auth: { mode: 'off', verify: () => undefined },
    opsOpen: true,
    admit: () => Promise.reject(new Error('not asked')),
    streams: streamRegistry(),
    limits: DEFAULT_LIMITS,
    batcher: { submit: async () => ok({ ids: [], rejected: [] }), close: async () => {} },
    inflight: inflightLimit({ maxRequests: 8, maxBytes: 1 << 20, unknownBodyBytes: 1 << 20 }),
    metrics: { http, intake: createIntakeMetrics(http.registry) },
    webhooks,
    now: Date.now,
    logError: () => {},
  });
}

const outage = appError('unavailable', 'ingest unreachable', { retryable: true, retryAfterSeconds: 1 });

test('at the app: sources that cannot be checked are a 503 with Retry-After, never a 404', async () => {
  let relayed = 0;
  const app = appWith({
    sources: { get: async () => fail(outage), size: 0 },
    relay: async () => {
      relayed += 1;
      return fail(outage);
    },
    refusals: { inc: () => {} },
  });
  const res = await app.request(`/v1/webhooks/${newSourceId()}`, { method: 'POST', body: '{}' });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable');
  assert.equal(relayed, 0);
});

test('at the app: a verified delivery whose relay fails is a 503 with Retry-After', async () => {
  const secret = 'a generic hmac secret';
  const source: WebhookSource = {
    id: newSourceId(),
    tenant: 'acme',
    provider: 'hmac',
    secrets: [{ value: secret, retiresAt: null }],
    stream: 'webhooks',
    options: sourceOptionsSchema.parse({ hmac: {} }),
  };
  const relayed: Uint8Array[] = [];
  const requestIds: (string | null)[] = [];
  const app = appWith({
    sources: { get: async (id) => ok(id === source.id ? source : undefined), size: 1 },
    relay: async (_id, headers, bytes) => {
      relayed.push(bytes);
      requestIds.push(headers.get('x-request-id'));
      return fail(outage);
    },
    refusals: { inc: () => {} },
  });
  const payload = '{"type":"ping"}';
  const signature = createHmac('sha256', secret).update(payload).digest('hex');
  const res = await app.request(`/v1/webhooks/${source.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': signature },
    body: payload,
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.deepEqual(relayed, [new TextEncoder().encode(payload)]);
  // Ingest is asked with the edge's request id, so its envelope names the id the provider got.
  assert.deepEqual(requestIds, [res.headers.get('x-request-id')]);
  assert.ok(requestIds[0]);
});
