// The edge's webhook source cache (a unit: ingest's GET /v1/webhooks/sources/{id} played by a fake
// fetch): one ask for concurrent lookups of an id, a live source kept for 2 s and an unknown one
// for 1 s, ids not of the source shape never asked, ingest unreachable, failing, refusing the relay
// key or answering nonsense is `unavailable` (a 503 at the edge) and caches nothing, and the cache
// is bounded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newSourceId } from '@sluice/shared/webhooks/source';
import { createSourceCache, MAX_ASKING } from '../src/webhook-sources.ts';

const sourceJson = (id: string) => ({
  id,
  tenant: 'acme',
  provider: 'github',
  stream: 'webhooks',
  options: { toleranceSeconds: 300 },
  secrets: [{ value: "It's a Secret to Everybody", retiresAt: null }],
});

/** A fake ingest: answers by source id, counts asks, records the Authorization header. */
function fakeIngest(answer: (id: string) => Response | Promise<Response>) {
  const asked: string[] = [];
  const authorization: (string | null)[] = [];
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    const id = String(url).split('/').pop() ?? '';
    asked.push(id);
    authorization.push(new Headers(init?.headers).get('authorization'));
    return answer(id);
  }) as typeof fetch;
  return { asked, authorization, fetch: fetchFn };
}

const notFound = () =>
  Response.json({ error: { code: 'not_found', message: 'no such webhook source' } }, { status: 404 });

test('concurrent lookups are one ask with the relay key; a live source is kept 2 s, then asked again', async () => {
  let now = 1_000;
  const ingest = fakeIngest(async (id) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return Response.json(sourceJson(id));
  });
  const cache = createSourceCache({
    ingestUrl: 'http://ingest.test',
    ingestKey: 'slk_relaykeyrelaykey_secret',
    fetch: ingest.fetch,
    now: () => now,
  });
  const id = newSourceId();
  const answers = await Promise.all(Array.from({ length: 10 }, () => cache.get(id)));
  assert.equal(ingest.asked.length, 1);
  assert.deepEqual(ingest.authorization, ['Bearer slk_relaykeyrelaykey_secret']);
  for (const answer of answers) {
    assert.ok(answer.ok && answer.value !== undefined);
    assert.equal(answer.value.tenant, 'acme');
    assert.equal(answer.value.provider, 'github');
    assert.equal(answer.value.options.toleranceSeconds, 300);
  }
  now += 1_999;
  await cache.get(id);
  assert.equal(ingest.asked.length, 1);
  now += 2;
  await cache.get(id);
  assert.equal(ingest.asked.length, 2);
});

test('an unknown source (404) stays unknown for 1 s without asking; a removed one goes at its TTL', async () => {
  let now = 1_000;
  let removed = false;
  const live = newSourceId();
  const ingest = fakeIngest((id) => (id === live && !removed ? Response.json(sourceJson(id)) : notFound()));
  const cache = createSourceCache({ ingestUrl: 'http://ingest.test', fetch: ingest.fetch, now: () => now });
  const unknown = newSourceId();
  for (let i = 0; i < 50; i++) assert.deepEqual(await cache.get(unknown), { ok: true, value: undefined });
  assert.equal(ingest.asked.length, 1);
  assert.equal(ingest.authorization[0], null, 'no relay key configured: none sent (auth off)');
  now += 1_001;
  await cache.get(unknown);
  assert.equal(ingest.asked.length, 2);

  const first = await cache.get(live);
  assert.ok(first.ok && first.value !== undefined);
  removed = true;
  now += 1_500;
  const cached = await cache.get(live);
  assert.ok(cached.ok && cached.value !== undefined, 'still cached within its TTL');
  now += 501;
  assert.deepEqual(await cache.get(live), { ok: true, value: undefined });
});

test('ids not of the source shape are never asked about and leave no entry', async () => {
  const ingest = fakeIngest((id) => Response.json(sourceJson(id)));
  const cache = createSourceCache({ ingestUrl: 'http://ingest.test', fetch: ingest.fetch });
  for (const id of [
    '',
    'wh_',
    'WH_AAAAAAAAAAAAAAAAAAAAAAAAAA',
    '../sources',
    'x'.repeat(4_000),
    `${newSourceId()}x`,
  ])
    assert.deepEqual(await cache.get(id), { ok: true, value: undefined }, id.slice(0, 40));
  assert.equal(ingest.asked.length, 0);
  assert.equal(cache.size, 0);
});

test('ingest unreachable, failing, refusing the relay key or answering nonsense is unavailable and caches nothing', async () => {
  const answers: (() => Response | Promise<Response>)[] = [
    () => Promise.reject(new TypeError('connection refused')),
    () => new Response('boom', { status: 500 }),
    () => new Response(null, { status: 401 }),
    () => new Response(null, { status: 403 }),
    () => new Response('not json', { status: 200 }),
    () => Response.json({ id: 'wh_other', tenant: 'acme' }),
    () => Response.json({ ...sourceJson(newSourceId()) }),
  ];
  for (const [i, answer] of answers.entries()) {
    const ingest = fakeIngest(answer);
    const cache = createSourceCache({ ingestUrl: 'http://ingest.test', fetch: ingest.fetch });
    const id = newSourceId();
    const result = await cache.get(id);
    assert.ok(!result.ok, `answer ${i}`);
    assert.equal(result.error.code, 'unavailable', `answer ${i}`);
    assert.equal(result.error.retryAfterSeconds, 1);
    assert.equal(cache.size, 0, `answer ${i}: nothing cached`);
    await cache.get(id);
    assert.equal(ingest.asked.length, 2, `answer ${i}: asked again`);
  }
});

test('a flood of random ids keeps the cache within its bound', async () => {
  const ingest = fakeIngest(() => notFound());
  const cache = createSourceCache({ ingestUrl: 'http://ingest.test', fetch: ingest.fetch, maxEntries: 100 });
  for (let i = 0; i < 1_000; i++) await cache.get(newSourceId());
  assert.equal(cache.size, 100);
  assert.equal(ingest.asked.length, 1_000);
});

test('asks of ingest at once are bounded (a 503 beyond), and unknown ids never push live sources out', async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const live = newSourceId();
  const ingest = fakeIngest(async (id) => {
    if (id === live) return Response.json(sourceJson(id));
    await held;
    return notFound();
  });
  const cache = createSourceCache({
    ingestUrl: 'http://ingest',
    ingestKey: 'k',
    fetch: ingest.fetch,
    maxEntries: 4,
  });
  assert.ok((await cache.get(live)).ok);
  const flood = Array.from({ length: MAX_ASKING }, () => cache.get(newSourceId()));
  const beyond = await cache.get(newSourceId());
  assert.equal(beyond.ok, false, 'past MAX_ASKING asks at once: unavailable, not another ask');
  assert.equal(ingest.asked.length, 1 + MAX_ASKING);
  release();
  await Promise.all(flood);
  // Hundreds of unknown ids later, the live source is still cached: no new ask for it.
  const again = await cache.get(live);
  assert.ok(again.ok && again.value?.id === live);
  assert.equal(ingest.asked.filter((id) => id === live).length, 1);
});
