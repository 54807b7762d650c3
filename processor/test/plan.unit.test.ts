// Batch planning as a pure unit (what PostgreSQL holds is a map the test answers loads from): offsets
// below the committed one are skipped, the watermark trails the highest event time, events behind
// it go to <stream>.late, windows settle when the watermark passes their end, bad records become
// dead letters, and nothing changes in the partition state until the plan is applied.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import { defineStream, hopping, tumbling } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { topicNames } from '@sluice/shared/streams/registry';
import { applyPlan } from '../src/commit/commit-protocol.ts';
import type { PartitionState } from '../src/partition-state.ts';
import { windowId, windowIdCache } from '../src/partition-state.ts';
import { BACKFILL_HEADER } from '../src/stages/place.ts';
import { planIdleAdvance } from '../src/stages/plan.ts';
import { nothingToRead } from '../src/windows/watermark.ts';
import type { StoredRows } from './plan-fixtures.ts';
import {
  claimedIds,
  ecommerceRecord,
  partitionState,
  planRecords,
  remember,
  storedRows,
  T0,
} from './plan-fixtures.ts';

// Nothing stored that these plans could load: they are looked at, not committed (unless a test
// remembers them in its own `stored`).
const deps = {
  stored: storedRows(),
  claimed: claimedIds(),
  group: 'g',
  topics: topicNames('ecommerce', 't.'),
  now: T0 + 3_600_000,
};
const state = partitionState;
const record = (offset: number, time: number, amount = 10, category = 'Books') =>
  ecommerceRecord(offset, time, { amount, category });

test('the watermark trails the highest event time by the declared 1 minute and settles windows behind it', async () => {
  const s = state();
  const plan = planRecords(s, [record(0, T0 + 5_000), record(1, T0 + 30_000), record(2, T0 + 125_000)], deps);
  assert.ok(plan);
  assert.equal(plan.offset.watermark, T0 + 65_000);
  assert.equal(plan.offset.next, 3n);
  const byStart = new Map(plan.rows.map((r) => [r.start, r]));
  assert.equal(byStart.get(T0)?.status, 'settled', 'window [0, 60s) ends before the watermark');
  assert.equal(byStart.get(T0)?.values.count, 2);
  assert.equal(byStart.get(T0 + 120_000)?.status, 'provisional');
  assert.equal(s.nextOffset, null, 'planning changes nothing until applied');
  applyPlan(s, plan);
  assert.equal(s.nextOffset, 3n);
  assert.equal(s.windows.size, 1, 'settled windows leave memory; open ones stay');
});

test('an event behind the watermark goes to the late topic, not into its window', async () => {
  const s = state();
  // Watermark T0 + 540 s: window [T0, T0 + 60 s) plus 5 minutes of allowed lateness is behind it.
  const first = planRecords(s, [record(0, T0 + 600_000)], deps);
  assert.ok(first);
  applyPlan(s, first);
  const plan = planRecords(s, [record(1, T0 + 10_000)], deps);
  assert.ok(plan);
  assert.equal(plan.counts.late, 1);
  assert.equal(plan.rows.length, 0);
  assert.equal(plan.outbound[0]?.topic, 't.ecommerce.late');
  assert.equal(plan.outbound[0]?.headers?.['sluice-late-reason'], 'beyond-allowed-lateness');
});

test('an event some of whose windows are past allowed lateness counts in the others and goes to .late for those', async () => {
  const stream = defineStream({
    name: 'ecommerce',
    description: 'ecommerce payload in 1m tumbling and 5m/1m hopping windows',
    partitions: 1,
    schema: ecommerce.schema,
    eventTime: 'timestamp',
    idField: 'transaction_id',
    keyBy: ['product_category'],
    windows: [tumbling('1m'), hopping('5m', '1m')],
    aggregations: ecommerce.aggregations,
    watermark: '1m',
    allowedLateness: '5m',
  });
  const s = state(stream);
  const first = planRecords(s, [record(0, T0 + 700_000)], deps);
  assert.ok(first);
  applyPlan(s, first);
  assert.equal(s.watermark, T0 + 640_000);
  // At T0 + 290 s: tumbling [240 s, 300 s) and hopping [0, 300 s) end 300 s, and 300 s + 5 min of
  // lateness is behind the watermark; the hopping windows ending at 360 s to 540 s are not.
  const plan = planRecords(s, [record(1, T0 + 290_000)], deps);
  assert.ok(plan);
  assert.equal(plan.counts.late, 1);
  assert.equal(plan.counts.processed, 1);
  assert.deepEqual(
    plan.rows
      .toSorted((a, b) => a.start - b.start)
      .map((r) => [r.window, (r.start - T0) / 1000, r.values.count, r.status]),
    [60, 120, 180, 240].map((start) => ['5m/1m', start, 1, 'amended']),
  );
  const late = plan.outbound.find((r) => r.topic === 't.ecommerce.late');
  assert.deepEqual(
    late?.headers?.['sluice-late-windows']?.split(',').sort(),
    [T0, T0 + 240_000].map((t) => new Date(t).toISOString()),
  );
});

test('records below the committed offset are skipped (a replay after a crash counts nothing twice)', async () => {
  const s = state();
  const plan = planRecords(s, [record(0, T0), record(1, T0 + 1_000)], deps);
  assert.ok(plan);
  applyPlan(s, plan);
  const replay = planRecords(s, [record(0, T0), record(1, T0 + 1_000), record(2, T0 + 2_000)], deps);
  assert.ok(replay);
  assert.equal(replay.counts.skipped, 2);
  assert.equal(replay.counts.processed, 1);
  assert.equal(replay.rows[0]?.values.count, 3);
  assert.equal(replay.offset.expected, 2n, 'the commit is fenced on the offset this worker read');
});

test('undecodable and schema-drifted records become dead letters with the original bytes', async () => {
  const s = state();
  const poison: IncomingRecord = { ...record(0, T0), value: new TextEncoder().encode('garbage') };
  const drift = record(1, T0, Number.NaN);
  const plan = planRecords(s, [poison, drift, record(2, T0)], deps);
  assert.ok(plan);
  assert.equal(plan.counts.dlq, 2);
  assert.equal(plan.counts.processed, 1);
  assert.deepEqual(
    plan.outbound.map((r) => [r.topic, r.headers?.['sluice-dlq-step']]),
    [
      ['t.ecommerce.dlq', 'decode'],
      ['t.ecommerce.dlq', 'validate'],
    ],
  );
  assert.equal(new TextDecoder().decode(plan.outbound[0]?.value as Uint8Array), 'garbage');
});

test('an idle partition advances its watermark by wall clock and settles its last window', async () => {
  const s = state();
  const plan = planRecords(s, [record(0, T0 + 1_000)], deps);
  assert.ok(plan);
  applyPlan(s, plan);
  s.lastActivity = T0 + 2_000;
  assert.equal(planIdleAdvance(s, { ...deps, now: s.lastActivity + 500 }, 1_000), null, 'not idle yet');
  const idle = planIdleAdvance(s, { ...deps, now: s.lastActivity + 120_000 }, 1_000);
  assert.ok(idle);
  assert.equal(idle.rows[0]?.status, 'settled');
  assert.equal(idle.offset.next, idle.offset.expected, 'the offset does not move');
});

test('a partition is idle only while the consumer knows its end is reached; an unknown end restarts the idle time', async () => {
  const s = state();
  const plan = planRecords(s, [record(0, T0 + 1_000)], deps);
  assert.ok(plan);
  applyPlan(s, plan);
  s.lastActivity = T0 + 2_000;
  const later = s.lastActivity + 120_000;
  assert.equal(nothingToRead(s, 5n, later), false, 'records wait past the position');
  assert.equal(s.lastActivity, T0 + 2_000, 'waiting records do not move the idle time');
  assert.equal(nothingToRead(s, 1n, later), true, 'the end is the position');
  // The broker is away: its end is unknown, so not idle, and the idle time starts again.
  assert.equal(nothingToRead(s, undefined, later), false);
  assert.equal(s.lastActivity, later);
  assert.equal(nothingToRead(s, 1n, later + 500), true, 'the end is known again');
  assert.equal(
    planIdleAdvance(s, { ...deps, now: later + 500 }, 1_000),
    null,
    'not idle for long enough since',
  );
  assert.ok(
    planIdleAdvance(s, { ...deps, now: later + 1_000 }, 1_000),
    'idle for the whole idle time after it',
  );
});

function run(s: PartitionState, stored: StoredRows, records: IncomingRecord[]) {
  const plan = planRecords(s, records, { ...deps, stored });
  assert.ok(plan);
  remember(stored, plan);
  applyPlan(s, plan);
  return plan;
}

test('an event within allowed lateness amends its settled window: new version, status amended', async () => {
  const stored = storedRows();
  const s = state();
  await run(s, stored, [record(0, T0 + 10_000, 10), record(1, T0 + 20_000, 30)]);
  // Watermark T0 + 80 s settles [T0, T0 + 60 s); it leaves memory and lives on in the sink.
  const settled = await run(s, stored, [record(2, T0 + 140_000, 5)]);
  assert.equal(settled.rows.find((r) => r.start === T0)?.status, 'settled');
  assert.equal(s.windows.has(windowId('default', '1m', T0, 'Books')), false);

  // Two late events in one batch: one new version, both counted, in the window they belong to.
  const plan = await run(s, stored, [record(3, T0 + 30_000, 20), record(4, T0 + 40_000, 40)]);
  assert.equal(plan.counts.late, 0);
  assert.equal(plan.counts.amended, 1);
  const row = plan.rows.find((r) => r.start === T0);
  assert.equal(row?.status, 'amended');
  assert.equal(row?.version, 2);
  assert.partialDeepStrictEqual(row?.values, {
    count: 4,
    sum_amount: 100,
    min_amount: 10,
    max_amount: 40,
    avg_amount: 25,
    distinct_users: 1,
  });
  assert.deepEqual(
    plan.amended.map((w) => [w.window, w.start, w.key]),
    [['1m', T0, 'Books']],
    'the amended windows are reported, for cache invalidation',
  );

  // A second amendment in a later batch is version 3; the provisional window is untouched.
  const again = await run(s, stored, [record(5, T0 + 50_000, 1)]);
  assert.equal(again.rows.find((r) => r.start === T0)?.version, 3);
  assert.equal(again.rows.find((r) => r.start === T0)?.values.count, 5);
  assert.equal(stored.rows.get(windowId('default', '1m', T0 + 120_000, 'Books'))?.status, 'provisional');
});

test('a window the watermark passed within the same batch is settled once, not amended', async () => {
  const stored = storedRows();
  const s = state();
  const plan = await run(s, stored, [
    record(0, T0 + 10_000),
    record(1, T0 + 140_000),
    record(2, T0 + 20_000),
  ]);
  const row = plan.rows.find((r) => r.start === T0);
  assert.equal(row?.status, 'settled');
  assert.equal(row?.version, 1);
  assert.equal(row?.values.count, 2);
  assert.equal(plan.counts.amended, 0);
});

test('a replayed late event (backfill) amends its window however old, and moves no watermark', async () => {
  const stored = storedRows();
  const s = state();
  await run(s, stored, [record(0, T0 + 10_000, 10)]);
  await run(s, stored, [record(1, T0 + 900_000, 10)]);
  const watermark = s.watermark;
  const late = await run(s, stored, [record(2, T0 + 20_000, 5)]);
  assert.equal(late.counts.late, 1, 'beyond allowed lateness: to the late topic');
  const replayed = { ...record(3, T0 + 20_000, 5), headers: { [BACKFILL_HEADER]: 'late' } };
  const plan = await run(s, stored, [replayed]);
  assert.equal(plan.counts.late, 0);
  const row = plan.rows.find((r) => r.start === T0);
  assert.equal(row?.status, 'amended');
  assert.equal(row?.version, 2);
  assert.equal(row?.values.count, 2);
  assert.equal(s.watermark, watermark, 'the backfill moved no watermark');
});

const withId = (offset: number, time: number, id: string, amount = 10) =>
  ecommerceRecord(offset, time, { amount, id });

test('a resent event id counts once, in the same batch or a later one; its own replay still counts', async () => {
  const stored = storedRows();
  const claimed = claimedIds();
  const s = state();
  const plan = planRecords(
    s,
    [withId(0, T0 + 1_000, 'tx-1', 10), withId(1, T0 + 2_000, 'tx-1', 10), withId(2, T0 + 3_000, 'tx-2', 5)],
    { ...deps, stored, claimed },
  );
  assert.ok(plan);
  assert.equal(plan.counts.duplicates, 1);
  assert.equal(plan.counts.processed, 2);
  assert.equal(plan.rows[0]?.values.count, 2);
  assert.equal(plan.rows[0]?.values.sum_amount, 15);

  // The same batch planned again (its commit never landed: a crash) counts the same, not zero.
  const replay = planRecords(
    s,
    [withId(0, T0 + 1_000, 'tx-1', 10), withId(1, T0 + 2_000, 'tx-1', 10), withId(2, T0 + 3_000, 'tx-2', 5)],
    { ...deps, stored, claimed },
  );
  assert.equal(replay?.rows[0]?.values.count, 2);
  assert.ok(replay);
  remember(stored, replay);
  applyPlan(s, replay);

  // A client retry of tx-2 later, at another offset: a duplicate.
  const retry = planRecords(s, [withId(3, T0 + 3_000, 'tx-2', 5)], { ...deps, stored, claimed });
  assert.equal(retry?.counts.duplicates, 1);
  assert.equal(retry?.rows.length, 0);
});

test("an id is an event's identity only within its tenant and its CloudEvents source", async () => {
  const stored = storedRows();
  const claimed = claimedIds();
  const record = (offset: number, id: string, options: { tenant?: string; source?: string }) =>
    ecommerceRecord(offset, T0 + 1_000 + offset, { id, ...options });
  const plan = planRecords(
    state(),
    [
      record(0, 'order-1', { tenant: 'acme', source: 'shop-eu' }),
      // Another source's order-1: another event (CloudEvents: source + id identify an event).
      record(1, 'order-1', { tenant: 'acme', source: 'shop-us' }),
      // Another tenant's order-1 from the same source: another event.
      record(2, 'order-1', { tenant: 'bigco', source: 'shop-eu' }),
      // A resend of the first: a duplicate.
      record(3, 'order-1', { tenant: 'acme', source: 'shop-eu' }),
      // No source: its own identity, not a copy of a sourced one.
      record(4, 'order-1', { tenant: 'acme' }),
    ],
    { ...deps, stored, claimed },
  );
  assert.ok(plan);
  assert.equal(plan.counts.duplicates, 1);
  assert.equal(plan.counts.processed, 4);
});

test('a window new to a start the committed watermark passed makes cached answers stale, though still open', async () => {
  const s = state();
  const first = planRecords(s, [record(0, T0 + 150_000)], deps);
  assert.ok(first);
  applyPlan(s, first);
  assert.equal(s.watermark, T0 + 90_000);
  // [T0 + 60 s, T0 + 120 s) for a new key: its start is behind the committed watermark, its end is not.
  const plan = planRecords(s, [record(1, T0 + 70_000, 10, 'Toys'), record(2, T0 + 155_000)], deps);
  assert.ok(plan);
  const toys = plan.rows.find((r) => r.key === 'Toys');
  assert.equal(toys?.status, 'provisional');
  assert.deepEqual(
    plan.stale.map((w) => [w.key, w.start]),
    [['Toys', T0 + 60_000]],
    'only the new window behind the watermark; the Books window it extends is not new',
  );
});

test('window ids from a batch’s cache are each window’s own, however its strings were built', () => {
  const idOf = windowIdCache();
  const cases: [string, string, number, string][] = [];
  for (const tenant of ['default', 'acme'])
    for (const window of ['1m', '1h'])
      for (const start of [T0, T0 + 60_000])
        for (const key of ['Books', 'Sports', '']) cases.push([tenant, window, start, key]);
  const first = cases.map(([tenant, window, start, key]) => idOf(tenant, window, start, key));
  assert.deepEqual(
    first,
    cases.map(([tenant, window, start, key]) => windowId(tenant, window, start, key)),
    'each id is the window’s own',
  );
  assert.equal(new Set(first).size, cases.length, 'no two windows share an id');
  // Strings rebuilt per event (as JSON.parse hands them over) still find the id already built.
  cases.forEach(([tenant, window, start, key], i) => {
    assert.equal(idOf(`${tenant} `.trim(), `${window} `.trim(), start, `${key} `.trim()), first[i]);
  });
});
