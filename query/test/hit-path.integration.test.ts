// The hit path (answers before Hono) on the real PostgreSQL and Redis: it answers a hit exactly as
// the windows route does (body, headers, 304, request id, metrics), only when it can know the
// answer is current without I/O, and declines everything else to the route; an amendment, a
// provisional answer's TTL and an unarmed watch each send a request back to the route.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../shared/test/harness.ts';
import { parseScrape } from '../../shared/test/prometheus.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-04T10:00:00Z');
const WATERMARK = T0 + 100 * 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let armed: QueryHarness;
let unarmed: QueryHarness;

const row = (minute: number, amounts: number[], version = 1): SeededRow => {
  const start = T0 + minute * 60_000;
  const sales = amounts.map((amount, j) => ({ category: 'Books', amount, user: `u${j}`, time: start }));
  return {
    start,
    category: 'Books',
    sales,
    status: start + 60_000 > WATERMARK ? 'provisional' : version > 1 ? 'amended' : 'settled',
    version,
  };
};

before(async () => {
  [armed, unarmed] = await Promise.all([
    startQuery('hit-path', { pushInvalidation: true, provisionalTtlSeconds: 1 }),
    startQuery('hit-path-unarmed'),
  ]);
  const rows: SeededRow[] = [];
  for (let m = 0; m < 110; m += 1) rows.push(row(m, [10, 20]));
  await Promise.all([armed.write(rows, WATERMARK), unarmed.write(rows, WATERMARK)]);
  await waitFor(async () => armed.watch?.armedEpoch(), {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: 'watch armed',
  });
});

after(() => Promise.all([armed.close(), unarmed.close()]));

const path = (from: number, to: number, extra = '') =>
  `/v1/streams/ecommerce/windows?from=${from}&to=${to}${extra}`;

/** One request, with whether it reached the route (a cache lookup there) or not. */
async function ask(q: QueryHarness, target: string, init: RequestInit = {}) {
  const lookups = q.routeLookups();
  const response = await q.app.request(target, init);
  const body = await response.text();
  const headers = Object.fromEntries(response.headers);
  return { status: response.status, body, headers, routed: q.routeLookups() > lookups };
}

const withoutId = (headers: Record<string, string>) => {
  const { 'x-request-id': _, ...rest } = headers;
  return rest;
};

test('a hit held in process is answered before Hono, exactly as the route answers it', async () => {
  const target = path(T0, T0 + 30 * 60_000);
  const miss = await ask(armed, target);
  assert.equal(miss.headers['x-cache'], 'miss');
  assert.ok(miss.routed);
  // The first hit reaches the route: it checks the answer's counters once (the watch armed).
  const checked = await ask(armed, target);
  assert.ok(checked.routed);
  assert.equal(checked.headers['x-cache'], 'hit');
  const fast = await ask(armed, target);
  assert.equal(fast.routed, false, 'answered on the hit path');
  assert.equal(fast.status, 200);
  assert.equal(fast.body, checked.body);
  assert.equal(fast.body, miss.body);
  assert.deepEqual(withoutId(fast.headers), withoutId(checked.headers));
  assert.match(fast.headers['x-request-id'] ?? '', UUID);
  assert.notEqual(fast.headers['x-request-id'], checked.headers['x-request-id']);

  // Conditional: 304 with the same headers and no body, on the hit path as on the route.
  const etag = fast.headers.etag ?? '';
  const conditional = { headers: { 'If-None-Match': etag } };
  const notModified = await ask(armed, target, conditional);
  assert.equal(notModified.routed, false);
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body, '');
  const routed304 = await ask(unarmed, target, conditional);
  await ask(unarmed, target, conditional);
  assert.equal(routed304.status, 304);
  assert.deepEqual(
    Object.keys(withoutId(notModified.headers)).sort(),
    Object.keys(withoutId(routed304.headers)).sort(),
  );
  // Another ETag is not this answer's: the body again.
  const stale = await ask(armed, target, { headers: { 'If-None-Match': '"other"' } });
  assert.equal(stale.routed, false);
  assert.equal(stale.status, 200);
  assert.equal(stale.body, miss.body);
});

test("the client's request id comes back when usable, by Hono's rule, on either path", async () => {
  const target = path(T0, T0 + 20 * 60_000);
  await ask(armed, target);
  await ask(armed, target);
  for (const [sent, kept] of [
    ['abc-123_X=', true],
    ['has space', false],
    ['x'.repeat(256), false],
    ['', false],
  ] as const) {
    const fast = await ask(armed, target, { headers: { 'X-Request-Id': sent } });
    assert.equal(fast.routed, false);
    const routed = await ask(unarmed, target, { headers: { 'X-Request-Id': sent } });
    assert.ok(routed.routed);
    for (const answer of [fast, routed]) {
      const id = answer.headers['x-request-id'] ?? '';
      if (kept) assert.equal(id, sent);
      else assert.match(id, UUID);
    }
  }
});

test('hits on the hit path are counted as the route counts them', async () => {
  const target = path(T0 + 40 * 60_000, T0 + 50 * 60_000);
  await ask(armed, target);
  await ask(armed, target);
  const scrape = async () => parseScrape(await (await armed.app.request('/metrics')).text());
  const route = { route: '/v1/streams/:stream/windows', method: 'GET' };
  const before = await scrape();
  for (let i = 0; i < 3; i += 1) assert.equal((await ask(armed, target)).routed, false);
  assert.equal((await ask(armed, target, { headers: { 'If-None-Match': '"other"' } })).routed, false);
  const etag = (await armed.app.request(target)).headers.get('etag') ?? '';
  assert.equal((await ask(armed, target, { headers: { 'If-None-Match': etag } })).routed, false);
  const after = await scrape();
  const delta = (name: string, labels: Record<string, string>) =>
    after.sum(name, labels) - before.sum(name, labels);
  assert.equal(delta('sluice_http_requests_total', { ...route, status: '200' }), 5);
  assert.equal(delta('sluice_http_requests_total', { ...route, status: '304' }), 1);
  assert.equal(
    after.histogram('sluice_http_request_duration_seconds', route).count -
      before.histogram('sluice_http_request_duration_seconds', route).count,
    6,
  );
  assert.equal(delta('sluice_query_cache_requests_total', { result: 'hit' }), 6);
  assert.equal(delta('sluice_query_cache_requests_total', { result: 'miss' }), 0);
});

test('an amendment sends the next request to the route, which answers it amended', async () => {
  const target = path(T0, T0 + 10 * 60_000);
  await ask(armed, target);
  await ask(armed, target);
  assert.equal((await ask(armed, target)).routed, false);
  await armed.write([row(3, [10, 20, 70], 2)], WATERMARK);
  await armed.bumpGeneration(T0 + 3 * 60_000);
  // The push arrives on the watch's own connection, a moment after the bump's reply; until then the
  // answer is the one computed before the commit's bump (guarantee 3 is about after the bump).
  const amended = await waitFor(
    async () => {
      const answer = await ask(armed, target);
      return answer.headers['x-cache'] === 'miss' ? answer : undefined;
    },
    { timeoutMs: 2_000, intervalMs: 1, what: 'the pushed invalidation' },
  );
  assert.ok(amended.routed);
  const sums = (JSON.parse(amended.body) as { data: { values: { sum_amount: number } }[] }).data.map(
    (r) => r.values.sum_amount,
  );
  assert.equal(sums[3], 100);
});

test('a provisional answer is answered on the hit path only within its TTL', async () => {
  // Minutes 99 to 109 end past the watermark: provisional, kept for the provisional TTL (1 s).
  const target = path(T0 + 99 * 60_000, T0 + 110 * 60_000);
  const first = await ask(armed, target);
  assert.ok(JSON.parse(first.body).data.some((r: { status: string }) => r.status === 'provisional'));
  const soon = await ask(armed, target);
  assert.equal(soon.routed, false, 'a provisional answer needs no counter read within its TTL');
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const late = await ask(armed, target);
  assert.ok(late.routed, 'past its TTL the route decides');
  assert.equal(late.headers['x-cache'], 'miss');
});

test('it declines what it cannot answer at once: new query strings, other methods, an unarmed watch', async () => {
  const target = path(T0 + 60 * 60_000, T0 + 70 * 60_000);
  assert.ok((await ask(armed, target)).routed, 'a query string not parsed before');
  assert.ok((await ask(armed, target)).routed, 'the first hit checks the counters');
  assert.equal((await ask(armed, target)).routed, false);
  // The same answer asked another way is the route's first (its query string is another).
  assert.ok((await ask(armed, `${target}&limit=1000`)).routed);
  const head = await ask(armed, target, { method: 'HEAD' });
  assert.ok(head.routed, 'HEAD is the route’s');
  assert.equal(head.status, 200);
  // Without a watch every complete answer's counters are read: each hit is the route's.
  for (let i = 0; i < 3; i += 1) assert.ok((await ask(unarmed, target)).routed);
  // Errors stay the route's, in the envelope.
  const invalid = await ask(armed, path(T0 + 70 * 60_000, T0 + 60 * 60_000));
  assert.equal(invalid.status, 400);
  assert.match(invalid.headers['content-type'] ?? '', /json/);
  assert.equal(JSON.parse(invalid.body).error.code, 'validation_failed');
});

test('should the hit path throw, the route answers the request', async () => {
  const faulty = await startQuery('hit-path-faulty', {
    wrapCache: (cache) => ({
      peek: () => {
        throw new Error('injected fault');
      },
      get: cache.get.bind(cache),
      set: cache.set.bind(cache),
    }),
  });
  try {
    await faulty.write([row(0, [10, 20])], WATERMARK);
    const target = path(T0, T0 + 60_000);
    assert.equal((await ask(faulty, target)).headers['x-cache'], 'miss');
    const answered = await ask(faulty, target);
    assert.ok(answered.routed);
    assert.equal(answered.status, 200);
    assert.equal(answered.headers['x-cache'], 'hit');
    assert.equal(JSON.parse(answered.body).data[0].values.sum_amount, 30);
  } finally {
    await faulty.close();
  }
});
