// Final hour buckets kept in process (units, over an in-memory stand-in for the repository and the
// generation counters): a kept bucket answers later reads of any range in its hour exactly as the
// repository would, without reading it; a bumped generation, a bucket not final (watermark short
// of its end, a provisional row, no watermark given), a counter read failing and a read at the row
// cap all go to the repository; and the rows kept never pass the bound (guarantee 5).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENERATION_BUCKET_MS, generationKey } from '@sluice/shared/cache/window-generations';
import type { StoredWindow } from '@sluice/shared/db/window-rows';
import { withBucketRows } from '../src/bucket-rows.ts';
import type { WindowsQuery, WindowsRepo } from '../src/windows-repo.ts';

const HOUR = GENERATION_BUCKET_MS;
const T0 = Date.parse('2026-05-02T00:00:00Z');
const PREFIX = 'test:';
const KEYS = ['Beauty', 'Books', 'Sports'];
const scope = { tenant: 'default', stream: 'ecommerce', window: '1m' };

/** 1-minute windows of three keys over `hours` hours from T0, each with its minute as the count. */
function windowsOver(hours: number): StoredWindow[] {
  const rows: StoredWindow[] = [];
  for (let m = 0; m < hours * 60; m += 1)
    for (const key of KEYS)
      rows.push({
        tenant: 'default',
        window: '1m',
        start: T0 + m * 60_000,
        end: T0 + (m + 1) * 60_000,
        key,
        values: { count: m },
        state: { count: m },
        status: 'settled',
        version: 1,
      });
  return rows;
}

/** The repository over `rows` (ordered by start and key, capped at the limit), counting reads. */
function memoryRepo(rows: StoredWindow[]) {
  const reads: { from: number; to: number }[] = [];
  const repo: WindowsRepo = {
    async windows(q) {
      reads.push({ from: q.from, to: q.to });
      return rows
        .filter((r) => r.tenant === q.tenant && r.window === q.window && r.start >= q.from && r.start < q.to)
        .sort((a, b) => a.start - b.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .slice(0, q.limit);
    },
    watermark: async () => null,
    partitions: async () => [],
  };
  return { repo, reads };
}

/** Generation counters in a map; `failing` makes every read reject. */
function counters() {
  const values = new Map<string, string>();
  let failing = false;
  return {
    read: async (keys: readonly string[]) => {
      if (failing) throw new Error('redis away');
      return keys.map((k) => values.get(k) ?? null);
    },
    bump(windowStart: number) {
      const key = generationKey(PREFIX, scope, windowStart);
      values.set(key, String(Number(values.get(key) ?? '0') + 1));
    },
    fail: (on: boolean) => (failing = on),
  };
}

/** Rows (or `hours` of windows) behind a bucket cache of `maxRows`, with the repository and counters under it. */
function keptOver(source: number | StoredWindow[], maxRows = 100_000) {
  const rows = typeof source === 'number' ? windowsOver(source) : source;
  const inner = memoryRepo(rows);
  const gens = counters();
  const kept = withBucketRows(inner.repo, { cachePrefix: PREFIX, readGenerations: gens.read, maxRows });
  return { rows, inner, gens, kept };
}

const ask = (from: number, to: number, settledBefore: number | null | undefined, limit = 200_001) =>
  ({
    ...scope,
    from,
    to,
    limit,
    stateOf: null,
    allAggs: [],
    ...(settledBefore === undefined ? {} : { settledBefore }),
  }) satisfies WindowsQuery;

/** A seeded random range inside the data, not aligned to minutes or hours. */
function randomRanges(count: number, hours: number): [number, number][] {
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  return Array.from({ length: count }, () => {
    const from = T0 + Math.floor(next() * (hours - 1) * HOUR);
    return [from, from + Math.floor(next() * 2 * HOUR) + 1];
  });
}

test('kept buckets answer any range in their hours exactly as the repository does, reading it once', async () => {
  const { rows, inner, kept } = keptOver(6);
  const plain = memoryRepo(rows);
  const watermark = T0 + 6 * HOUR;
  assert.ok(rows.length === 6 * 180);
  for (const [from, to] of randomRanges(200, 6)) {
    const q = ask(from, Math.min(to, T0 + 6 * HOUR), watermark);
    assert.deepEqual(await kept.windows(q), await plain.repo.windows(q));
  }
  // Every hour was read whole from the repository at most once (a read may span several).
  const hoursRead = new Set<number>();
  for (const read of inner.reads)
    for (let h = read.from; h < read.to; h += HOUR) {
      assert.ok(!hoursRead.has(h), `hour ${(h - T0) / HOUR} read twice`);
      hoursRead.add(h);
    }
  assert.ok(inner.reads.length <= 6);
});

test('a bumped generation makes its bucket read again, and only that one', async () => {
  const { rows, inner, gens, kept } = keptOver(3);
  const watermark = T0 + 3 * HOUR;
  await kept.windows(ask(T0, T0 + 3 * HOUR, watermark));
  assert.equal(inner.reads.length, 1);
  // What an amendment does: the row changes in PostgreSQL, then its hour's counter moves.
  const amended = rows.findIndex((r) => r.start === T0 + HOUR + 5 * 60_000 && r.key === 'Books');
  const before = rows[amended];
  assert.ok(before !== undefined);
  rows[amended] = { ...before, values: { count: 1_000 }, status: 'amended', version: 2 };
  // Not yet bumped: the kept hour still answers (the processor bumps after its commit).
  const stale = await kept.windows(ask(T0 + HOUR, T0 + 2 * HOUR, watermark));
  assert.equal(
    stale.find((r) => r.start === before.start && r.key === 'Books')?.values.count,
    before.values.count,
  );
  gens.bump(before.start);
  const fresh = await kept.windows(ask(T0 + 30 * 60_000, T0 + 150 * 60_000, watermark));
  assert.equal(fresh.find((r) => r.start === before.start && r.key === 'Books')?.values.count, 1_000);
  assert.deepEqual(inner.reads.at(-1), { from: T0 + HOUR, to: T0 + 2 * HOUR });
  assert.equal(inner.reads.length, 2);
});

test('a bucket that is not final is never kept', async () => {
  const rows = windowsOver(2);
  const last = rows.at(-1);
  assert.ok(last !== undefined);
  rows[rows.length - 1] = { ...last, status: 'provisional' };
  const cases: [string, number | null | undefined][] = [
    ['no watermark given', undefined],
    ['no watermark yet', null],
    ['the watermark short of the hour end', T0 + HOUR - 1],
  ];
  for (const [what, watermark] of cases) {
    const { inner, kept } = keptOver(rows);
    await kept.windows(ask(T0, T0 + HOUR, watermark));
    await kept.windows(ask(T0, T0 + HOUR, watermark));
    assert.equal(inner.reads.length, 2, what);
  }
  // The second hour holds a provisional row: read every time even with the watermark past it.
  const { inner, kept } = keptOver(rows);
  await kept.windows(ask(T0, T0 + 2 * HOUR, T0 + 3 * HOUR));
  await kept.windows(ask(T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR));
  await kept.windows(ask(T0, T0 + HOUR, T0 + 3 * HOUR));
  assert.deepEqual(
    inner.reads.map((r) => (r.from - T0) / HOUR),
    [0, 1],
    'the first hour kept, the second read again',
  );
});

test('counters that cannot be read, and a read at the row cap, go to the repository as asked', async () => {
  const { inner, gens, kept } = keptOver(2);
  gens.fail(true);
  const q = ask(T0 + 10 * 60_000, T0 + 20 * 60_000, T0 + 2 * HOUR);
  assert.equal((await kept.windows(q)).length, 30);
  assert.deepEqual(inner.reads.at(-1), { from: q.from, to: q.to });
  gens.fail(false);
  // A cap of 100 rows: the whole hour (180) would be cut short, so the exact range is read instead.
  const capped = await kept.windows({ ...q, limit: 100 });
  assert.equal(capped.length, 30);
  assert.deepEqual(inner.reads.at(-1), { from: q.from, to: q.to });
  // Nothing was kept from the capped read: the next read goes to the repository again.
  const before = inner.reads.length;
  await kept.windows(q);
  assert.ok(inner.reads.length > before);
});

test('the rows kept stay within the bound, the least recently used hour going first', async () => {
  const rows = windowsOver(12); // 180 rows an hour, as keptOver(12) makes them
  const watermark = T0 + 12 * HOUR;
  const hour = (h: number) => ask(T0 + h * HOUR, T0 + (h + 1) * HOUR, watermark);
  const readHours = (reads: { from: number }[]) => reads.map((r) => (r.from - T0) / HOUR);

  // A bucket above a tenth of the bound is never kept: 180 rows against a bound of 1,000.
  const small = keptOver(12, 1_000);
  assert.deepEqual(await small.kept.windows(hour(0)), rows.slice(0, 180));
  await small.kept.windows(hour(0));
  assert.equal(small.inner.reads.length, 2);

  // A bound of 1,800 rows holds ten hours of 180.
  const { inner, kept } = keptOver(12, 1_800);
  for (let h = 0; h < 10; h += 1) await kept.windows(hour(h));
  await kept.windows(ask(T0, T0 + 10 * HOUR, watermark));
  assert.equal(inner.reads.length, 10, 'all ten kept');
  // An eleventh pushes out the least recently used: hour 0 (hour 1 was used after it).
  await kept.windows(hour(1));
  await kept.windows(hour(10));
  await kept.windows(hour(1));
  await kept.windows(hour(0));
  assert.deepEqual(readHours(inner.reads.slice(10)), [10, 0]);
  // Reading hour 0 back pushed out hour 2, now the least recently used.
  await kept.windows(hour(3));
  await kept.windows(hour(2));
  assert.deepEqual(readHours(inner.reads.slice(12)), [2]);
});

test('concurrent misses over an hour share one read, unless they read a newer generation', async () => {
  const rows = windowsOver(2);
  const inner = memoryRepo(rows);
  const gens = counters();
  // Reads wait until the test releases them; a read of the second hour fails `failures` times.
  const waiting: (() => void)[] = [];
  let failures = 0;
  const slow: WindowsRepo = {
    ...inner.repo,
    windows: async (q) => {
      await new Promise<void>((resolve) => waiting.push(resolve));
      if (q.from === T0 + HOUR && failures > 0) {
        failures -= 1;
        throw new Error('database away');
      }
      return inner.repo.windows(q);
    },
  };
  const kept = withBucketRows(slow, { cachePrefix: PREFIX, readGenerations: gens.read, maxRows: 100_000 });
  const watermark = T0 + 2 * HOUR;
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  /** Releases reads until every one of `answers` has settled. */
  async function settled<T>(answers: Promise<T>[]) {
    let done = 0;
    for (const answer of answers)
      answer.then(
        () => (done += 1),
        () => (done += 1),
      );
    while (done < answers.length) {
      for (const release of waiting.splice(0)) release();
      await turn();
    }
    return Promise.allSettled(answers);
  }
  const rowsOf = (answer: PromiseSettledResult<StoredWindow[]> | undefined) =>
    answer?.status === 'fulfilled' ? answer.value : undefined;

  const shared = [
    kept.windows(ask(T0, T0 + HOUR, watermark)),
    kept.windows(ask(T0 + 60_000, T0 + 30 * 60_000, watermark)),
  ];
  await turn();
  gens.bump(T0);
  // Read after the bump: a newer generation than the read under way, so it does not join it.
  const newer = kept.windows(ask(T0 + 120_000, T0 + 10 * 60_000, watermark));
  const [whole, part, afterBump] = await settled([...shared, newer]);
  assert.equal(rowsOf(whole)?.length, 180);
  assert.deepEqual(
    rowsOf(part),
    rows.filter((r) => r.start >= T0 + 60_000 && r.start < T0 + 30 * 60_000),
  );
  assert.equal(rowsOf(afterBump)?.length, 24);
  assert.equal(inner.reads.length, 2, 'one read shared by the first two; the newer generation read its own');

  // A read that fails fails every miss waiting on it, and leaves nothing behind: the next reads.
  failures = 1;
  const failing = await settled([
    kept.windows(ask(T0 + HOUR, T0 + 2 * HOUR, watermark)),
    kept.windows(ask(T0 + HOUR, T0 + HOUR + 60_000, watermark)),
  ]);
  assert.deepEqual(
    failing.map((a) => a.status),
    ['rejected', 'rejected'],
  );
  const [again] = await settled([kept.windows(ask(T0 + HOUR, T0 + 2 * HOUR, watermark))]);
  assert.equal(rowsOf(again)?.length, 180);
});
