// Poison isolation's search (isolate.ts), on a model of the stores: a slice commits unless it holds
// a record they refuse (and not dead-lettered). Whatever the records and where the poisons are,
// every other record commits exactly once and in offset order, exactly the poisons are
// dead-lettered, and a failure no record explains is not pinned on one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import fc from 'fast-check';
import { StoreFailure } from '../src/commit/failure-kind.ts';
import type { DataFailure, Isolated } from '../src/commit/isolate.ts';
import { isolateRecords } from '../src/commit/isolate.ts';

const record = (offset: number): IncomingRecord => ({
  topic: 't',
  partition: 0,
  offset: BigInt(offset),
  key: null,
  value: null,
  headers: {},
  timestamp: 0,
});

const refused: DataFailure = {
  kind: 'data',
  retryable: false,
  step: 'sink',
  reason: 'index row size 3016 exceeds maximum',
};

function model(poisons: ReadonlySet<number>, alwaysFails = false) {
  const committed: number[] = [];
  const isolated: number[] = [];
  let resets = 0;
  const hooks = {
    async attempt(records: readonly IncomingRecord[], dead: ReadonlyMap<bigint, Isolated>) {
      const bad = records.some((r) => poisons.has(Number(r.offset)) && !dead.has(r.offset));
      if (bad || alwaysFails) throw new StoreFailure(refused);
      for (const r of records) if (!dead.has(r.offset)) committed.push(Number(r.offset));
    },
    reset: () => {
      resets += 1;
    },
    onIsolated: (r: IncomingRecord, failure: DataFailure) => {
      assert.equal(failure.step, 'sink');
      isolated.push(Number(r.offset));
    },
  };
  return { hooks, committed, isolated, resets: () => resets };
}

test('every poison is isolated, every other record commits once and in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }),
      fc.uniqueArray(fc.nat(299), { minLength: 1, maxLength: 6 }),
      async (n, picks) => {
        const poisons = new Set(picks.filter((p) => p < n));
        if (poisons.size === 0) return;
        const records = Array.from({ length: n }, (_, i) => record(i));
        const m = model(poisons);
        await isolateRecords(records, refused, m.hooks);
        assert.deepEqual(
          m.committed,
          records.map((r) => Number(r.offset)).filter((o) => !poisons.has(o)),
        );
        assert.deepEqual(
          m.isolated,
          [...poisons].sort((a, b) => a - b),
        );
        // The search is a bisection: about 2 log2(n) failed attempts per poison, not n.
        assert.ok(m.resets() <= 1 + poisons.size * 2 * (Math.ceil(Math.log2(n)) + 1));
      },
    ),
    { numRuns: 100 },
  );
});

test('a failure that stays without the record is not pinned on it', async () => {
  const m = model(new Set(), true);
  const thrown = await isolateRecords([record(0), record(1)], refused, m.hooks).catch((e: unknown) => e);
  assert.ok(thrown instanceof StoreFailure);
  assert.equal(thrown.failure.kind, 'outage', 'retried as an outage: the batch waits');
  assert.deepEqual(m.isolated, []);
  assert.deepEqual(m.committed, []);
});
