// Property tests (fast-check) of the pure decisions under guarantees 2 and 3: which windows an
// event belongs to (tumbling, hopping), whether it is on time, amends or is late, and that batch
// planning over any sequence of events and batch cuts ends with exactly the counts, statuses and
// versions an independent model of the watermark computes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import fc from 'fast-check';
import { applyPlan } from '../src/commit/commit-protocol.ts';
import { windowId } from '../src/partition-state.ts';
import { assignWindows } from '../src/windows/assign.ts';
import { latenessOf } from '../src/windows/watermark.ts';
import {
  ecommerceRecord,
  partitionState,
  planDeps,
  planRecords,
  remember,
  storedRows,
  T0,
} from './plan-fixtures.ts';

const time = fc.integer({ min: 0, max: 4_102_444_800_000 });

test('a tumbling window holds every event time in exactly one aligned window', () => {
  fc.assert(
    fc.property(time, fc.integer({ min: 1, max: 86_400_000 }), (t, sizeMs) => {
      const windows = assignWindows({ kind: 'tumbling', name: 'w', sizeMs }, t);
      assert.equal(windows.length, 1);
      const [w] = windows;
      assert.ok(w && w.start <= t && t < w.end && w.end - w.start === sizeMs && w.start % sizeMs === 0);
    }),
  );
});

test('a hopping window of size k·slide puts each event in k distinct aligned windows that hold it', () => {
  fc.assert(
    fc.property(
      time,
      fc.integer({ min: 1, max: 3_600_000 }),
      fc.integer({ min: 1, max: 12 }),
      (t, slideMs, k) => {
        const sizeMs = slideMs * k;
        const windows = assignWindows({ kind: 'hopping', name: 'w', sizeMs, slideMs }, t);
        assert.equal(windows.length, k);
        assert.equal(new Set(windows.map((w) => w.start)).size, k);
        for (const w of windows) {
          assert.ok(w.start <= t && t < w.end, `${t} in [${w.start}, ${w.end})`);
          assert.equal(w.end - w.start, sizeMs);
          assert.ok(w.start % slideMs === 0, `${w.start} aligned to ${slideMs}`);
        }
      },
    ),
  );
});

test('lateness moves one way as the watermark advances: on time, then amend, then late', () => {
  fc.assert(
    fc.property(
      time,
      fc.integer({ min: 0, max: 86_400_000 }),
      fc.array(time, { minLength: 2 }),
      (end, lateMs, marks) => {
        const rank = { 'on-time': 0, amend: 1, late: 2 } as const;
        const decisions = marks.toSorted((a, b) => a - b).map((wm) => latenessOf(end, wm, lateMs));
        for (let i = 1; i < decisions.length; i++) {
          const [before, after] = [decisions[i - 1], decisions[i]];
          assert.ok(before !== undefined && after !== undefined && rank[before] <= rank[after]);
        }
        assert.equal(latenessOf(end, null, lateMs), 'on-time', 'no watermark yet: nothing is late');
        assert.equal(latenessOf(end, end - 1, lateMs), 'on-time');
        assert.equal(latenessOf(end, end + lateMs, lateMs), 'late', 'the lateness bound is exclusive');
      },
    ),
  );
});

const MINUTE = 60_000;
const WATERMARK = ecommerce.watermarkMs;
const LATENESS = ecommerce.allowedLatenessMs;

interface ModelWindow {
  count: number;
  status: 'provisional' | 'settled' | 'amended';
  version: number;
}

/**
 * The contract, written independently of stages/plan.ts and the window operators: per event, then
 * per batch boundary.
 */
function model(batches: readonly (readonly { t: number; key: string }[])[]) {
  const windows = new Map<string, ModelWindow>();
  let maxTime = Number.NEGATIVE_INFINITY;
  let late = 0;
  for (const batch of batches) {
    const amendedThisBatch = new Set<string>();
    const committed = maxTime === Number.NEGATIVE_INFINITY ? null : maxTime - WATERMARK;
    for (const { t, key } of batch) {
      const start = Math.floor(t / MINUTE) * MINUTE;
      const watermark = maxTime === Number.NEGATIVE_INFINITY ? null : maxTime - WATERMARK;
      if (watermark !== null && start + MINUTE + LATENESS <= watermark) late += 1;
      else {
        const id = `${start}|${key}`;
        const w = windows.get(id) ?? { count: 0, status: 'provisional', version: 1 };
        w.count += 1;
        // Emitted windows amend with a new version; a window new behind the committed watermark
        // (a complete answer may already have been served without it) is amended at version 1.
        const emitted = w.status !== 'provisional';
        if ((emitted || (committed !== null && start + MINUTE <= committed)) && !amendedThisBatch.has(id)) {
          amendedThisBatch.add(id);
          if (emitted) w.version += 1;
          w.status = 'amended';
        }
        windows.set(id, w);
      }
      maxTime = Math.max(maxTime, t);
    }
    const watermark = maxTime - WATERMARK;
    for (const [id, w] of windows) {
      const start = Number(id.split('|')[0]);
      if (w.status === 'provisional' && start + MINUTE <= watermark) w.status = 'settled';
    }
  }
  return { windows, late };
}

test('planning any batches of in- and out-of-order events ends exactly where the model does', async () => {
  const event = fc.record({ t: fc.integer({ min: 0, max: 15 * MINUTE }), key: fc.constantFrom('a', 'b') });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(event, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 12 }),
      async (batches) => {
        const stored = storedRows();
        const state = partitionState();
        const deps = planDeps(stored);
        let offset = 0;
        let late = 0;
        for (const batch of batches) {
          const records = batch.map(({ t, key }) => {
            const at = offset++;
            return ecommerceRecord(at, T0 + t, { amount: 1 + (at % 7), category: key });
          });
          const plan = planRecords(state, records, deps);
          assert.ok(plan);
          late += plan.counts.late;
          remember(stored, plan);
          applyPlan(state, plan);
        }
        const want = model(batches.map((b) => b.map(({ t, key }) => ({ t: T0 + t, key }))));
        assert.equal(late, want.late, 'late events');
        assert.equal(stored.rows.size, want.windows.size, 'windows');
        for (const [id, w] of want.windows) {
          const [start, key] = id.split('|');
          const row = stored.rows.get(windowId('default', '1m', Number(start), key ?? ''));
          assert.ok(row, `window ${id}`);
          assert.equal(row.values.count, w.count, `count of ${id}`);
          assert.equal(row.status, w.status, `status of ${id}`);
          assert.equal(row.version, w.version, `version of ${id}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
