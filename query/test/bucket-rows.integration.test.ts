// Final hours kept in process (bucket-rows.ts) on the real PostgreSQL and Redis, through the
// windows route: misses over ranges of a final hour read it from PostgreSQL once and answer, byte
// for byte, what a service keeping nothing answers; an amendment (committed, then its hour's
// generation bumped, as the processor does) is in the next answer over that hour (guarantee 3); an
// hour the watermark has not passed is read from PostgreSQL every time, so its new windows show.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WindowsRepo } from '../src/windows-repo.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-03T10:00:00Z');
// Hours 0 and 1 final; hour 2 open (its windows from minute 150 on provisional).
const WATERMARK = T0 + 150 * 60_000;

const row = (
  minute: number,
  category: string,
  amounts: number[],
  status?: SeededRow['status'],
): SeededRow => {
  const start = T0 + minute * 60_000;
  return {
    start,
    category,
    sales: amounts.map((amount, j) => ({ category, amount, user: `u${j}`, time: start })),
    status: status ?? (start + 60_000 > WATERMARK ? 'provisional' : 'settled'),
    version: status === 'amended' ? 2 : 1,
  };
};

let kept: QueryHarness;
let plain: QueryHarness;
/** PostgreSQL reads of windows by the service that keeps hours. */
const reads: { from: number; to: number }[] = [];

const counting = (repo: WindowsRepo): WindowsRepo => ({
  ...repo,
  windows: (q) => {
    reads.push({ from: q.from, to: q.to });
    return repo.windows(q);
  },
});

before(async () => {
  [kept, plain] = await Promise.all([
    startQuery('bucket-rows', { wrapRepo: counting }),
    startQuery('bucket-rows-plain', { bucketRows: 0 }),
  ]);
  const rows: SeededRow[] = [];
  for (let m = 0; m < 170; m += 1) rows.push(row(m, 'Books', [10, m]), row(m, 'Beauty', [5]));
  await Promise.all([kept.write(rows, WATERMARK), plain.write(rows, WATERMARK)]);
});

after(() => Promise.all([kept.close(), plain.close()]));

async function answer(q: QueryHarness, query: string) {
  const response = await q.app.request(`/v1/streams/ecommerce/windows?${query}`);
  assert.equal(response.status, 200);
  return { cache: response.headers.get('x-cache'), text: await response.text() };
}

/** Both services' answers to `query`: they must be the same bytes. */
async function same(query: string) {
  const [a, b] = await Promise.all([answer(kept, query), answer(plain, query)]);
  assert.equal(a.text, b.text, query);
  return a;
}

const minutes = (from: number, to: number) => `from=${T0 + from * 60_000}&to=${T0 + to * 60_000}`;

test('misses over a final hour read it once and answer what a service keeping nothing answers', async () => {
  const first = await same(minutes(10, 50));
  assert.equal(first.cache, 'miss');
  assert.deepEqual(reads, [{ from: T0, to: T0 + HOUR }], 'the whole hour, once');
  // Other ranges (other cache keys: misses) in that hour, by key, filtered and rolled up.
  for (const query of [
    minutes(5, 40),
    `${minutes(0, 60)}&filter=product_category=Books`,
    `${minutes(3, 57)}&window=5m&group_by=none&aggs=count,sum_amount`,
  ])
    assert.equal((await same(query)).cache, 'miss', query);
  // The roll-up reads the state of its aggregations: a shape of its own, read once.
  assert.equal(reads.length, 2);
  assert.equal((await same(`${minutes(0, 60)}&window=5m&group_by=none&aggs=count,sum_amount`)).cache, 'miss');
  assert.equal(reads.length, 2);
  // Two hours: the kept one is not read again.
  await same(minutes(30, 90));
  assert.deepEqual(reads.at(-1), { from: T0 + HOUR, to: T0 + 2 * HOUR });
});

test('an amendment, committed and then bumped, is in the next answer over its hour', async () => {
  await same(minutes(60, 120));
  const before = reads.length;
  const amended = [row(70, 'Books', [1_000], 'amended')];
  await Promise.all([kept.write(amended, WATERMARK), plain.write(amended, WATERMARK)]);
  await Promise.all([kept.bumpGeneration(T0 + 70 * 60_000), plain.bumpGeneration(T0 + 70 * 60_000)]);
  const after = await same(`${minutes(65, 75)}&filter=product_category=Books`);
  const body = JSON.parse(after.text) as { data: { values: { sum_amount: number }; status: string }[] };
  assert.equal(body.data[5]?.values.sum_amount, 1_000);
  assert.equal(body.data[5]?.status, 'amended');
  assert.deepEqual(reads.slice(before), [{ from: T0 + HOUR, to: T0 + 2 * HOUR }]);
});

test('an hour the watermark has not passed is read every time, so new windows in it show', async () => {
  const before = reads.length;
  await same(minutes(120, 170));
  await same(minutes(125, 165));
  assert.equal(reads.length - before, 2);
  const late = [row(168, 'Sports', [42])];
  await Promise.all([kept.write(late, WATERMARK), plain.write(late, WATERMARK)]);
  const now = await same(`${minutes(121, 170)}&filter=product_category=Sports`);
  const body = JSON.parse(now.text) as { data: { values: { sum_amount: number } }[] };
  assert.deepEqual(
    body.data.map((r) => r.values.sum_amount),
    [42],
  );
});
