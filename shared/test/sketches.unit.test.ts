// Approximate aggregates: the HyperLogLog distinct count and DDSketch percentiles stay within their
// documented error of exact answers computed here, merge like one sketch over everything, survive
// the stored form unchanged, and a state resumed from a stored row gives the values an
// uninterrupted run gives (what a replay after a crash relies on).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HyperLogLog } from 'hyperlolo';
import type { AggState } from '../src/streams/aggregate.ts';
import {
  accumulate,
  copyState,
  emptyState,
  merge,
  reject,
  reviveState,
  storeState,
  valuesOf,
} from '../src/streams/aggregate.ts';
import { avg, count, distinct, quantiles, sum } from '../src/streams/define.ts';

const AGGS = [distinct('user_id', 'distinct_users'), quantiles('amount', { scale: 2 })];

function aggregate(
  events: readonly { user_id: string; amount: number }[],
  state = emptyState(AGGS),
): AggState {
  for (const e of events) accumulate(state, AGGS, e);
  return state;
}

/** The exact lower quantile: the value at rank floor(q * (n - 1)) of the sorted values. */
function exactQuantile(sorted: readonly number[], q: number): number {
  const value = sorted[Math.floor(q * (sorted.length - 1))];
  if (value === undefined) throw new Error('empty');
  return value;
}

const cents = fc.integer({ min: 1, max: 10_000_00 }).map((c) => c / 100);
const events = fc.array(
  fc.record({ user_id: fc.integer({ min: 0, max: 5_000 }).map((u) => `u${u}`), amount: cents }),
  { minLength: 1, maxLength: 3_000 },
);

test('distinct users stay within 5% (or 3, for a few values sharing a register) of the exact count', () => {
  fc.assert(
    fc.property(events, (evs) => {
      const exact = new Set(evs.map((e) => e.user_id)).size;
      const got = valuesOf(aggregate(evs), AGGS).distinct_users ?? -1;
      return Math.abs(got - exact) <= Math.max(3, exact * 0.05);
    }),
    { numRuns: 60 },
  );
});

test('percentiles are within 1% of the exact values (plus the cent they are rounded to)', () => {
  fc.assert(
    fc.property(events, (evs) => {
      const values = valuesOf(aggregate(evs), AGGS);
      const sorted = evs.map((e) => e.amount).sort((a, b) => a - b);
      for (const p of [50, 95, 99]) {
        const exact = exactQuantile(sorted, p / 100);
        const got = values[`p${p}_amount`] ?? Number.NaN;
        if (!(Math.abs(got - exact) <= exact * 0.01 + 0.005)) return false;
      }
      return true;
    }),
    { numRuns: 60 },
  );
});

test('merging partial states gives the values of one state over every event', () => {
  fc.assert(
    fc.property(events, fc.nat(), (evs, cut) => {
      const at = cut % (evs.length + 1);
      const left = aggregate(evs.slice(0, at));
      merge(left, aggregate(evs.slice(at)), AGGS);
      assert.deepEqual(valuesOf(left, AGGS), valuesOf(aggregate(evs), AGGS));
    }),
    { numRuns: 40 },
  );
});

test('a state resumed from its stored form continues exactly as an uninterrupted one', () => {
  fc.assert(
    fc.property(events, fc.nat(), (evs, cut) => {
      const at = cut % (evs.length + 1);
      const stored = JSON.parse(JSON.stringify(storeState(aggregate(evs.slice(0, at)))));
      const resumed = aggregate(evs.slice(at), reviveState(stored));
      assert.deepEqual(valuesOf(resumed, AGGS), valuesOf(aggregate(evs), AGGS));
    }),
    { numRuns: 40 },
  );
});

test('a copied state is independent of the original', () => {
  const original = aggregate([{ user_id: 'a', amount: 1 }]);
  const before = valuesOf(original, AGGS);
  aggregate([{ user_id: 'b', amount: 1000 }], copyState(original));
  assert.deepEqual(valuesOf(original, AGGS), before);
});

test('windows without the field show a zero distinct count and null percentiles', () => {
  const state = emptyState(AGGS);
  accumulate(state, AGGS, { other: 1 });
  assert.deepEqual(valuesOf(state, AGGS), {
    distinct_users: 0,
    p50_amount: null,
    p95_amount: null,
    p99_amount: null,
  });
});

test('distinct sketches written in the earlier format (hyperlolo serialize) still read back', () => {
  const old = new HyperLogLog({ precision: 12 });
  const fresh = emptyState(AGGS);
  for (let i = 0; i < 500; i++) {
    old.add(`u${i}`);
    accumulate(fresh, AGGS, { user_id: `u${i}`, amount: 1 });
  }
  const stored = { distinct_users: `hll1:${Buffer.from(old.serialize()).toString('base64')}` };
  const revived = reviveState(stored);
  assert.equal(valuesOf(revived, AGGS).distinct_users, valuesOf(fresh, AGGS).distinct_users);
  assert.equal(valuesOf(revived, AGGS).distinct_users, Math.round(old.count()));
});

test('percentiles stay within the min and max of their values, in memory, resumed and merged', () => {
  const within = (state: AggState, amounts: readonly number[]) => {
    const values = valuesOf(state, AGGS);
    const [min, max] = [Math.min(...amounts), Math.max(...amounts)];
    return [50, 95, 99].every((p) => {
      const got = values[`p${p}_amount`] ?? Number.NaN;
      return got >= min && got <= max;
    });
  };
  fc.assert(
    fc.property(events, fc.nat(), (evs, cut) => {
      const amounts = evs.map((e) => e.amount);
      const at = cut % (evs.length + 1);
      const stored = JSON.parse(JSON.stringify(storeState(aggregate(evs.slice(0, at)))));
      const merged = aggregate(evs.slice(0, at));
      merge(merged, aggregate(evs.slice(at)), AGGS);
      return (
        within(aggregate(evs), amounts) &&
        within(aggregate(evs.slice(at), reviveState(stored)), amounts) &&
        within(merged, amounts)
      );
    }),
    { numRuns: 60 },
  );
  // One value, a bucket's representative above it: the clamp is what keeps p99 at the max.
  const single = valuesOf(aggregate([{ user_id: 'a', amount: 10.01 }]), AGGS);
  assert.deepEqual([single.p50_amount, single.p99_amount], [10.01, 10.01]);
});

test('quantile sketches written in the earlier format (protobuf only, no min and max) still read back', () => {
  const state = aggregate([1, 2, 3, 500].map((amount) => ({ user_id: 'u', amount })));
  const stored = storeState(state).quantiles_amount;
  assert.ok(typeof stored === 'string' && stored.startsWith('dds2:'));
  // The same sketch as an earlier row stored it: the protobuf after the tag, nothing else.
  const v1 = `dds1:${stored.slice(stored.indexOf(':', 'dds2:'.length) + 1)}`;
  const revived = reviveState({ ...storeState(state), quantiles_amount: v1 });
  const unclamped = valuesOf(revived, AGGS);
  assert.equal(unclamped.p50_amount, valuesOf(state, AGGS).p50_amount);
  // Its min and max are unknown, so a value added later does not narrow the range to itself.
  accumulate(revived, AGGS, { user_id: 'v', amount: 250 });
  const after = valuesOf(revived, AGGS);
  assert.ok((after.p99_amount ?? 0) > 250, 'p99 is not clamped to the one value seen since');
});

test('a quantile sketch is bounded: 1e-300 and 1e12 in one window stay small, p99 stays exact', () => {
  // The issue-20 finding: these two amounts made a ~290 KB sketch (every bucket between them).
  const normal = Array.from({ length: 2_000 }, (_, i) => ({
    user_id: `u${i}`,
    amount: 10 + ((i * 37) % 990),
  }));
  const extreme = [{ user_id: 'tiny', amount: 1e-300 }, ...normal, { user_id: 'huge', amount: 1e12 }];
  const state = aggregate(extreme);
  const stored = JSON.stringify(storeState(state));
  assert.ok(stored.length < 32 * 1024, `stored state is ${stored.length} bytes`);
  const sorted = extreme.map((e) => e.amount).sort((a, b) => a - b);
  const values = valuesOf(state, AGGS);
  for (const p of [50, 95, 99]) {
    const exact = exactQuantile(sorted, p / 100);
    const got = values[`p${p}_amount`] ?? Number.NaN;
    assert.ok(Math.abs(got - exact) <= exact * 0.01 + 0.005, `p${p}: ${got} vs ${exact}`);
  }
  // Resumed from its stored form halfway, it continues exactly as the one built in memory.
  const half = JSON.parse(JSON.stringify(storeState(aggregate(extreme.slice(0, 1_000)))));
  const resumed = aggregate(extreme.slice(1_000), reviveState(half));
  assert.deepEqual(valuesOf(resumed, AGGS), values);
  // Values past either bound count at the bound (0 below, 1e15 above), within the exact min and max.
  const wide = valuesOf(
    aggregate([
      { user_id: 'a', amount: 5e-10 },
      { user_id: 'b', amount: 2e15 },
      { user_id: 'c', amount: 2e15 },
    ]),
    AGGS,
  );
  assert.ok(Math.abs((wide.p50_amount ?? 0) - 1e15) <= 1e13);
  assert.ok(Math.abs((wide.p99_amount ?? 0) - 1e15) <= 1e13);
  assert.ok(
    (valuesOf(aggregate([{ user_id: 'a', amount: 5e-10 }]), AGGS).p50_amount ?? 1) < 1e-9,
    'a value below the bound reads within its min and max',
  );
});

test('a state revived for some aggregations holds just their accumulators, and merges as the whole state does', () => {
  const all = [
    count(),
    sum('amount', { scale: 2 }),
    avg('amount', { scale: 2 }),
    ...AGGS,
    { fn: 'quality' as const, name: 'quality', rules: ['positive'] },
  ];
  const rowState = (events: readonly { user_id: string; amount: number }[]) => {
    const state = emptyState(all);
    for (const e of events) accumulate(state, all, e);
    reject(state, all, 'positive');
    return storeState(state);
  };
  const asked = [all[0], all[2], all[4], all[5]].filter((a) => a !== undefined);
  const revived = reviveState(rowState([{ user_id: 'u1', amount: 2.5 }]), asked);
  assert.deepEqual(Object.keys(revived).sort(), [
    'avg_amount:n',
    'avg_amount:sum',
    'count',
    'quality:passed',
    'quality:rejected:positive',
    'quantiles_amount',
  ]);
  fc.assert(
    fc.property(
      fc.array(
        fc.array(
          fc.record({ user_id: fc.constantFrom('a', 'b', 'c'), amount: fc.integer({ min: 0, max: 10_000 }) }),
          {
            maxLength: 20,
          },
        ),
        { maxLength: 8 },
      ),
      (rows) => {
        const stored = rows.map(rowState);
        const some = emptyState(asked);
        const whole = emptyState(asked);
        for (const row of stored) {
          merge(some, reviveState(row, asked), asked);
          merge(whole, reviveState(row), asked);
        }
        assert.deepEqual(valuesOf(some, asked), valuesOf(whole, asked));
      },
    ),
    { numRuns: 100 },
  );
});
