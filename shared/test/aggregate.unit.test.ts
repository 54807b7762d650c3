// Aggregation accumulators: exact and order-independent sums of scaled fields, merge equivalent to
// accumulating everything in one place, and the documented formulas for the shown values.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accumulate, emptyState, merge, valuesOf } from '../src/streams/aggregate.ts';
import { avg, count, max, min, sum } from '../src/streams/define.ts';

const AGGS = [
  count(),
  sum('amount', { scale: 2 }),
  min('amount'),
  max('amount'),
  avg('amount', { scale: 2 }),
];
const AMOUNTS = [0.1, 0.2, 0.3, 999.99, 10.0, 33.33, 0.07, 12.5];

function aggregate(amounts: readonly number[]) {
  const state = emptyState(AGGS);
  for (const amount of amounts) accumulate(state, AGGS, { amount });
  return state;
}

test('sums of a scaled field are exact and do not depend on arrival order', () => {
  const forward = valuesOf(aggregate(AMOUNTS), AGGS);
  const backward = valuesOf(aggregate([...AMOUNTS].reverse()), AGGS);
  assert.deepEqual(forward, backward);
  assert.equal(forward.sum_amount, 1056.49);
  assert.equal(forward.count, AMOUNTS.length);
  assert.equal(forward.min_amount, 0.07);
  assert.equal(forward.max_amount, 999.99);
  assert.equal(forward.avg_amount, 105649 / AMOUNTS.length / 100);
});

test('merging two partial states equals aggregating all events in one', () => {
  const left = aggregate(AMOUNTS.slice(0, 3));
  const right = aggregate(AMOUNTS.slice(3));
  merge(left, right, AGGS);
  assert.deepEqual(left, aggregate(AMOUNTS));
});

test('a window whose events lack the field shows null min, max and avg, and a zero sum', () => {
  const state = emptyState(AGGS);
  accumulate(state, AGGS, { other: 1 });
  assert.deepEqual(valuesOf(state, AGGS), {
    count: 1,
    sum_amount: 0,
    min_amount: null,
    max_amount: null,
    avg_amount: null,
  });
});
