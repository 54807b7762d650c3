// The partition health reporter as a unit (its SQL is exercised on PostgreSQL by
// query/test/stream-health.integration.test.ts): at most one write per interval and none while one is in
// flight; a failed write keeps its counts for the next; the counts of a partition that moved away
// after its commit still land (marked not the owner's, so they replace nothing of the new owner's);
// a partition's rates start afresh after it was forgotten; old rows are pruned on the first report
// and at most once per hour after, one prune at a time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '@sluice/shared/log';
import type { HealthRow, OwnedPartition } from '../src/health/partition-health.ts';
import { createPartitionHealthReporter, PRUNE_EVERY_MS } from '../src/health/partition-health.ts';

const T = 'sluice.ecommerce';

function harness() {
  let now = 1_000_000;
  const writes: HealthRow[][] = [];
  let fail = false;
  let hold: Promise<void> | undefined;
  const reporter = createPartitionHealthReporter({
    write: async (_group, rows) => {
      await hold;
      if (fail) throw new Error('postgres away');
      writes.push([...rows]);
    },
    group: 'g',
    intervalMs: 2_000,
    now: () => now,
    log: createLogger('test', 'silent'),
  });
  const ends = new Map<number, bigint>();
  const end = (_topic: string, partition: number) => ends.get(partition);
  return {
    reporter,
    writes,
    ends,
    end,
    advance: (ms: number) => {
      now += ms;
    },
    failing: (on: boolean) => {
      fail = on;
    },
    holding: (p: Promise<void> | undefined) => {
      hold = p;
    },
  };
}

const owned = (partition: number, next: bigint | null): OwnedPartition => ({
  topic: T,
  partition,
  nextOffset: next,
});
const counts = (processed: number, dlq = 0) => ({ processed, late: 0, dlq, rejected: 0 });

test('one write per interval, none while one is in flight', async () => {
  const h = harness();
  h.ends.set(0, 10n);
  await h.reporter.report([owned(0, 10n)], h.end);
  await h.reporter.report([owned(0, 10n)], h.end);
  assert.equal(h.writes.length, 1, 'the second within the interval wrote nothing');
  let release: () => void = () => {};
  h.holding(
    new Promise<void>((resolve) => {
      release = resolve;
    }),
  );
  h.advance(2_000);
  const slow = h.reporter.report([owned(0, 10n)], h.end);
  h.advance(5_000);
  await h.reporter.report([owned(0, 10n)], h.end);
  release();
  await slow;
  assert.equal(h.writes.length, 2, 'no second write while the first was in flight');
});

test('rates from two writes; null for a first one; afresh after forget', async () => {
  const h = harness();
  h.ends.set(0, 100n);
  await h.reporter.report([owned(0, 90n)], h.end);
  assert.equal(h.writes[0]?.[0]?.inPerSecond, null);
  assert.equal(h.writes[0]?.[0]?.processedPerSecond, null);
  h.advance(4_000);
  h.ends.set(0, 140n);
  await h.reporter.report([owned(0, 130n)], h.end);
  assert.equal(h.writes[1]?.[0]?.inPerSecond, 10);
  assert.equal(h.writes[1]?.[0]?.processedPerSecond, 10);
  h.reporter.forget(T, 0);
  h.advance(2_000);
  await h.reporter.report([owned(0, 140n)], h.end);
  assert.equal(h.writes[2]?.[0]?.inPerSecond, null, 'a partition back on this worker starts afresh');
});

test('a failed write keeps its counts; a partition gone since its commit still gets its counts', async () => {
  const h = harness();
  h.ends.set(0, 5n);
  h.reporter.counted(T, 0, counts(3, 1));
  h.failing(true);
  await h.reporter.report([owned(0, 5n)], h.end);
  assert.equal(h.writes.length, 0);
  h.failing(false);
  h.reporter.counted(T, 0, counts(2));
  h.reporter.counted(T, 1, counts(7));
  h.advance(2_000);
  // Partition 1 moved to another worker after its commit: its counts land, offsets unknown.
  await h.reporter.report([owned(0, 5n)], h.end);
  const rows = h.writes[0] ?? [];
  assert.deepEqual(
    rows.map((r) => [r.partition, r.processed, r.dlq, r.end, r.owner]),
    [
      [0, 5, 1, 5, true],
      [1, 7, 0, null, false],
    ],
  );
  h.advance(2_000);
  await h.reporter.report([owned(0, 5n)], h.end);
  assert.equal(h.writes[1]?.[0]?.processed, 0, 'counts written once');
});

test('old rows are pruned on the first report, then at most hourly, one prune at a time', async () => {
  let now = 1_000_000;
  let prunes = 0;
  let fail = false;
  let hold: Promise<void> | undefined;
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger('test', 'info', { write: (line: string) => lines.push(JSON.parse(line)) });
  const reporter = createPartitionHealthReporter({
    write: async () => {},
    prune: async () => {
      prunes += 1;
      await hold;
      if (fail) throw new Error('postgres away');
      return 3;
    },
    group: 'g',
    intervalMs: 2_000,
    now: () => now,
    log,
  });
  const tick = () => reporter.report([owned(0, 1n)], () => 1n);
  await tick();
  assert.equal(prunes, 1, 'the first report after start prunes');
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [['info', 'deleted long-unreported partition health rows']],
  );
  now += 10 * 60_000;
  await tick();
  assert.equal(prunes, 1, 'not again within the hour');
  now += PRUNE_EVERY_MS;
  let release: () => void = () => {};
  hold = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow = tick();
  now += PRUNE_EVERY_MS;
  await tick();
  assert.equal(prunes, 2, 'none while one is in flight');
  release();
  await slow;
  hold = undefined;
  fail = true;
  now += PRUNE_EVERY_MS;
  await tick();
  assert.equal(prunes, 3);
  assert.deepEqual(lines.at(-1)?.msg, 'deleting old partition health rows failed; will retry');
});
