// Pushed invalidation on the real Redis (guarantee 3 with SLUICE_CACHE_PUSH_INVALIDATION on):
// while the watch is armed a checked answer is a hit with no counter read at all; an amendment's
// bump reaches it through Redis's tracking broadcast and it misses with the amended value; when
// the watch's connections are killed it disarms, hits read the counters again (exact as without
// a watch), and it arms again by itself; a flush starts a new epoch.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../shared/test/harness.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-03T10:00:00Z');
const WATERMARK = T0 + 100 * 60_000;
let q: QueryHarness;

const row = (minute: number, amounts: number[], version = 1): SeededRow => {
  const start = T0 + minute * 60_000;
  const sales = amounts.map((amount, j) => ({ category: 'Books', amount, user: `u${j}`, time: start }));
  return { start, category: 'Books', sales, status: version > 1 ? 'amended' : 'settled', version };
};

before(async () => {
  q = await startQuery('push-invalidation', { pushInvalidation: true });
  const rows: SeededRow[] = [];
  for (let m = 0; m < 60; m += 1) rows.push(row(m, [10, 20]));
  await q.write(rows, WATERMARK);
});

after(() => q.close());

async function get() {
  const response = await q.app.request(`/v1/streams/ecommerce/windows?from=${T0}&to=${T0 + 30 * 60_000}`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { data: { values: { sum_amount: number } }[] };
  return { cache: response.headers.get('x-cache'), sums: body.data.map((r) => r.values.sum_amount) };
}

const armed = () =>
  waitFor(async () => q.watch?.armedEpoch(), { timeoutMs: 10_000, intervalMs: 50, what: 'watch armed' });

test('armed: a checked answer hits with no counter read, and an amendment reaches it pushed', async () => {
  await armed();
  assert.equal((await get()).cache, 'miss');
  assert.equal((await get()).cache, 'hit', 'the first hit reads the counters once');
  const reads = q.counterReads();
  for (let i = 0; i < 5; i += 1) assert.equal((await get()).cache, 'hit');
  assert.equal(q.counterReads(), reads, 'no counter read while armed');

  // What the processor does: commit the amended row, then bump its bucket's generation.
  await q.write([row(5, [10, 20, 70], 2)], WATERMARK);
  await q.bumpGeneration(T0 + 5 * 60_000);
  // The push arrives on its own connection, a moment after the bump's reply.
  const amended = await waitFor(
    async () => {
      const answer = await get();
      return answer.cache === 'miss' ? answer : undefined;
    },
    { timeoutMs: 2_000, intervalMs: 1, what: 'the pushed invalidation' },
  );
  assert.equal(amended.sums[5], 100);
  assert.equal((await get()).cache, 'hit');
});

test('killed connections disarm the watch: hits read the counters again, and it re-arms', async () => {
  const before = await armed();
  await get();
  await get();
  // Kill every connection of this process's watch (its subscriber and its tracking connection).
  const clients = String(await q.redis.client('LIST'));
  const ids = clients
    .split('\n')
    .filter((line) => line.includes(' name=push-invalidation-watch '))
    .map((line) => /id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  assert.ok(ids.length > 0, 'the watch has connections to kill');
  for (const id of ids) await q.redis.client('KILL', 'ID', id);
  await waitFor(async () => (q.watch?.armedEpoch() === before ? undefined : true), {
    timeoutMs: 5_000,
    intervalMs: 10,
    what: 'the watch disarmed',
  });
  const reads = q.counterReads();
  await get();
  if (q.watch?.armedEpoch() === undefined)
    assert.equal(q.counterReads(), reads + 1, 'a hit while disarmed reads the counters');
  const again = await armed();
  assert.notEqual(again, before, 'a new epoch: answers checked before are checked again');
  const readsArmed = q.counterReads();
  assert.equal((await get()).cache, 'hit');
  assert.equal(q.counterReads(), readsArmed + 1, 'the first hit of the new epoch reads the counters');
});

test('a flush (of any database) starts a new epoch: what was checked is read against Redis again', async () => {
  const before = await armed();
  await get();
  await get();
  // Database 15, which no test uses: Redis tells every tracking client of a flush anywhere.
  const other = q.redis.duplicate({ db: 15 });
  try {
    await other.flushdb();
  } finally {
    other.disconnect();
  }
  const after = await waitFor(
    async () => {
      const epoch = q.watch?.armedEpoch();
      return epoch !== undefined && epoch !== before ? epoch : undefined;
    },
    { timeoutMs: 5_000, intervalMs: 10, what: 'a new epoch after the flush' },
  );
  assert.notEqual(after, before);
  const reads = q.counterReads();
  assert.equal((await get()).cache, 'hit');
  assert.equal(q.counterReads(), reads + 1, 'the answer was read against Redis again');
});
