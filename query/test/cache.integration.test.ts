// The query cache on the real Redis (guarantee 3): a settled answer is served from the cache the
// second time; an amendment, published by the processor's own invalidator after its commit, makes
// exactly the answers holding it miss while an answer over another hour still hits; a provisional
// answer is never served past its TTL.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseScrape } from '../../shared/test/prometheus.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-02T10:00:00Z');
const WATERMARK = T0 + 100 * 60_000;
let q: QueryHarness;
/** The app's clock: relative ranges resolve against it. */
let now = Date.now();

const row = (minute: number, category: string, amounts: number[]): SeededRow => {
  const start = T0 + minute * 60_000;
  return {
    start,
    category,
    sales: amounts.map((amount, j) => ({ category, amount, user: `u${j}`, time: start })),
    status: start + 60_000 > WATERMARK ? 'provisional' : 'settled',
    version: 1,
  };
};

before(async () => {
  q = await startQuery('cache', { provisionalTtlSeconds: 1, now: () => now });
  const rows: SeededRow[] = [];
  for (let m = 0; m < 110; m += 1) rows.push(row(m, 'Books', [10, 20]), row(m, 'Beauty', [5]));
  await q.write(rows, WATERMARK);
});

after(() => q.close());

const scrapeApp = async () => parseScrape(await (await q.app.request('/metrics')).text());

async function get(from: number, to: number) {
  const response = await q.app.request(
    `/v1/streams/ecommerce/windows?from=${from}&to=${to}&filter=product_category=Books`,
  );
  assert.equal(response.status, 200);
  const body = (await response.json()) as { data: { values: { sum_amount: number }; status: string }[] };
  return { cache: response.headers.get('x-cache'), sums: body.data.map((r) => r.values.sum_amount), body };
}

test('a settled answer comes from the cache the second time', async () => {
  const first = await get(T0, T0 + 30 * 60_000);
  const second = await get(T0, T0 + 30 * 60_000);
  assert.equal(first.cache, 'miss');
  assert.equal(second.cache, 'hit');
  assert.deepEqual(second.body, first.body);
  assert.ok(first.body.data.every((r) => r.status === 'settled'));
  const metrics = await scrapeApp();
  assert.equal(metrics.sum('sluice_query_cache_requests_total', { result: 'hit' }), 1);
  assert.equal(metrics.sum('sluice_query_cache_requests_total', { result: 'miss' }), 1);
  assert.equal(metrics.sum('sluice_query_cache_hit_ratio'), 0.5);
});

test('an amendment invalidates only the answers over its own hour', async () => {
  const amendedHour = [T0, T0 + 30 * 60_000] as const;
  const otherHour = [T0 + 60 * 60_000, T0 + 90 * 60_000] as const;
  await get(...amendedHour);
  await get(...otherHour);
  assert.equal((await get(...amendedHour)).cache, 'hit');
  assert.equal((await get(...otherHour)).cache, 'hit');

  // What the processor does: commit the amended row, then bump its bucket's generation.
  await q.write([{ ...row(5, 'Books', [10, 20, 70]), status: 'amended', version: 2 }], WATERMARK);
  await q.bumpGeneration(T0 + 5 * 60_000);

  const amended = await get(...amendedHour);
  assert.equal(amended.cache, 'miss');
  assert.equal(amended.sums[5], 100);
  assert.equal((await get(...otherHour)).cache, 'hit');
});

test('a provisional answer is never served past its TTL', async () => {
  const range = [T0 + 95 * 60_000, T0 + 110 * 60_000] as const;
  const first = await get(...range);
  assert.equal(first.cache, 'miss');
  assert.ok(first.body.data.some((r) => r.status === 'provisional'));
  // The row changes without any invalidation (a provisional window is rewritten all the time).
  await q.write([row(108, 'Books', [10, 20, 1_000])], WATERMARK);
  const within = await get(...range);
  assert.equal(within.cache, 'hit', 'within its TTL the cached answer may be served');
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const past = await get(...range);
  assert.equal(past.cache, 'miss');
  assert.equal(past.sums.at(-2), 1_030);
});

test('a query string asked again resolves its relative range at each request, not at the first', async () => {
  // The handler keeps a query string's parse; the clock must not be kept with it.
  const ask = async () => {
    const response = await q.app.request(
      '/v1/streams/ecommerce/windows?from=-15m&to=now&filter=product_category=Books',
    );
    assert.equal(response.status, 200);
    const body = (await response.json()) as { data: { window_start: string }[] };
    return body.data.map((r) => Date.parse(r.window_start));
  };
  now = T0 + 60 * 60_000;
  const first = await ask();
  now = T0 + 70 * 60_000;
  const later = await ask();
  const minutes = (from: number) => Array.from({ length: 15 }, (_, i) => T0 + (from + i) * 60_000);
  assert.deepEqual(first, minutes(45));
  assert.deepEqual(later, minutes(55));
  now = Date.now();
});
