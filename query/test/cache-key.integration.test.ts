// Cache keys are built from a canonical encoding (issue 20, item 6): two queries share a cached
// answer only when they ask for the same answer. Joined with `|`, one filter whose value is `A|B`
// and two filters `A` and `B` made one key, so whoever asked first decided what both were served.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { windowsLookup } from '../src/windows-lookup.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-03T10:00:00Z');
const WATERMARK = T0 + 60 * 60_000;
let h: QueryHarness;

const row = (minute: number, category: string, amount: number): SeededRow => {
  const start = T0 + minute * 60_000;
  return {
    start,
    category,
    sales: [{ category, amount, user: 'u1', time: start }],
    status: 'settled',
    version: 1,
  };
};

before(async () => {
  h = await startQuery('cachekey');
  await h.write([row(0, 'A', 1), row(0, 'B', 2), row(1, 'A', 3), row(0, 'A|B', 100)], WATERMARK);
});

after(() => h.close());

const range = `from=${T0}&to=${T0 + 10 * 60_000}`;

async function keys(query: string): Promise<{ cache: string | null; keys: string[] }> {
  const response = await h.app.request(`/v1/streams/ecommerce/windows?${range}&${query}`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { data: { key: string; window_start: string }[] };
  return {
    cache: response.headers.get('x-cache'),
    keys: body.data.map((r) => `${r.window_start.slice(11, 16)} ${r.key}`),
  };
}

test('cache-key collision: filter=A|B and the two filters A, B are two answers, whichever is asked first', async () => {
  const piped = await keys('filter=product_category=A%7CB');
  const two = await keys('filter=product_category=A&filter=product_category=B');
  assert.deepEqual(piped.keys, ['10:00 A|B']);
  assert.equal(two.cache, 'miss', 'the two filters are not served the one-filter answer');
  assert.deepEqual(two.keys, ['10:00 A', '10:00 B', '10:01 A']);
  // Asked again, each is its own hit.
  assert.deepEqual((await keys('filter=product_category=A%7CB')).keys, piped.keys);
  assert.deepEqual((await keys('filter=product_category=B&filter=product_category=A')).keys, two.keys);
});

test('cache keys: equal queries share one key however written; different ones never do', () => {
  const lookup = windowsLookup('p:');
  const now = T0 + 3_600_000;
  const keyOf = (params: Record<string, string | string[]>) => {
    const parsed = lookup.parse('default', `/${JSON.stringify(params)}`, ecommerce, {
      from: String(T0),
      to: String(now),
      ...params,
    });
    assert.ok(parsed.success, JSON.stringify(params));
    const resolved = lookup.resolve(parsed.data, now);
    assert.ok(resolved.success);
    return resolved.data.request.key;
  };
  // The same answer, written differently: one key.
  assert.equal(
    keyOf({ filter: ['product_category=A', 'product_category=B'] }),
    keyOf({ filter: ['product_category=B', 'product_category=A'] }),
  );
  assert.equal(keyOf({ window: '1d', tz: 'europe/paris' }), keyOf({ window: '1d', tz: 'Europe/Paris' }));
  // Different answers: different keys, whatever separators their values hold.
  const distinct = (
    [
      {},
      { filter: 'product_category=A|B' },
      { filter: ['product_category=A', 'product_category=B'] },
      { filter: 'product_category=A' },
      { filter: 'product_category=A,B' },
      { filter: 'product_category=A&product_category=B' },
      { filter: 'product_category=A"],["B' },
      { group_by: 'none' },
      { aggs: 'count' },
      { aggs: 'count,sum_amount' },
      { limit: '10' },
    ] as Record<string, string | string[]>[]
  ).map(keyOf);
  assert.equal(new Set(distinct).size, distinct.length);
});
