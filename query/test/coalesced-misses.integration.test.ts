// Identical misses computed once (cached-answer.ts), on the real PostgreSQL and Redis: requests
// for one answer that miss together share one read and one encoding, and each gets the same
// bytes; a request that read a newer generation (an amendment's bump came in between) does not
// join a computation started before it, and gets the amended answer (guarantee 3).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-04T10:00:00Z');
const WATERMARK = T0 + 120 * 60_000;
let q: QueryHarness;
/** Reads of PostgreSQL wait here until the test lets them go. */
let gate: Promise<void> = Promise.resolve();
let reads = 0;

const row = (minute: number, amounts: number[], status: SeededRow['status'] = 'settled'): SeededRow => {
  const start = T0 + minute * 60_000;
  return {
    start,
    category: 'Books',
    sales: amounts.map((amount, j) => ({ category: 'Books', amount, user: `u${j}`, time: start })),
    status,
    version: status === 'amended' ? 2 : 1,
  };
};

before(async () => {
  q = await startQuery('coalesced-misses', {
    // Rows straight from PostgreSQL each time, so every computation is one read to count.
    bucketRows: 0,
    wrapRepo: (repo) => ({
      ...repo,
      windows: async (query) => {
        reads += 1;
        await gate;
        return repo.windows(query);
      },
    }),
  });
  const rows: SeededRow[] = [];
  for (let m = 0; m < 60; m += 1) rows.push(row(m, [10, m]));
  await q.write(rows, WATERMARK);
});

after(() => q.close());

const url = `/v1/streams/ecommerce/windows?from=${T0}&to=${T0 + 30 * 60_000}`;

function held(): () => void {
  let open = () => {};
  gate = new Promise((resolve) => {
    open = resolve;
  });
  return open;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

test('identical misses share one computation and answer the same bytes', async () => {
  const open = held();
  const before = reads;
  const answers = Array.from({ length: 5 }, () => q.app.request(url));
  await turns(20);
  open();
  const responses = await Promise.all(answers);
  const bodies = await Promise.all(responses.map((r) => r.text()));
  assert.deepEqual(
    responses.map((r) => [r.status, r.headers.get('x-cache')]),
    Array.from({ length: 5 }, () => [200, 'miss']),
  );
  assert.equal(new Set(bodies).size, 1);
  assert.equal(new Set(responses.map((r) => r.headers.get('etag'))).size, 1);
  assert.equal(reads - before, 1);
});

test('a miss that read a newer generation computes on its own, and sees the amendment', async () => {
  const amendedUrl = `/v1/streams/ecommerce/windows?from=${T0 + 30 * 60_000}&to=${T0 + 60 * 60_000}`;
  const open = held();
  const before = reads;
  const early = q.app.request(amendedUrl);
  await turns(20);
  // The amendment commits and its hour's generation is bumped while the first miss computes.
  await q.write([row(40, [1_000], 'amended')], WATERMARK);
  await q.bumpGeneration(T0 + 40 * 60_000);
  const late = q.app.request(amendedUrl);
  await turns(20);
  open();
  const body = (await (await late).json()) as { data: { values: { sum_amount: number } }[] };
  await early;
  assert.equal(reads - before, 2);
  assert.equal(body.data[10]?.values.sum_amount, 1_000);
});
