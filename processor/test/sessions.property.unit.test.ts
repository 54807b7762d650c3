// Property tests (fast-check) of session windows: whatever order events of a key arrive in, and
// however they are cut into batches, the sessions end as the connected runs of event times no more
// than one gap apart (computed here independently), each event counted once, merged-away sessions
// deleted, and every closed session emitted while every open one stays provisional.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineStream, session } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import fc from 'fast-check';
import { applyPlan } from '../src/commit/commit-protocol.ts';
import type { SessionBounds } from '../src/windows/session-bounds.ts';
import { joins, mergedBounds } from '../src/windows/session-bounds.ts';
import {
  ecommerceRecord,
  partitionState,
  planDeps,
  planRecords,
  remember,
  storedRows,
  T0,
} from './plan-fixtures.ts';

const GAP = 30_000;

/** The sessions of a set of event times: sorted, split where two neighbours are more than a gap apart. */
function modelSessions(times: readonly number[]): { start: number; end: number; count: number }[] {
  const sorted = [...times].sort((a, b) => a - b);
  const out: { start: number; end: number; count: number }[] = [];
  for (const t of sorted) {
    const last = out.at(-1);
    if (last !== undefined && t <= last.end) {
      last.end = t + GAP;
      last.count += 1;
    } else out.push({ start: t, end: t + GAP, count: 1 });
  }
  return out;
}

test('folding events in any order with joins/mergedBounds gives the model sessions', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10 * GAP }), { minLength: 1, maxLength: 40 }), (times) => {
      let sessions: (SessionBounds & { count: number })[] = [];
      for (const t of times) {
        const joined = sessions.filter((s) => joins(s, t, GAP));
        const bounds = mergedBounds(t, GAP, joined);
        const count = 1 + joined.reduce((n, s) => n + s.count, 0);
        sessions = [...sessions.filter((s) => !joined.includes(s)), { ...bounds, count }];
      }
      const got = sessions.toSorted((a, b) => a.start - b.start);
      assert.deepEqual(got, modelSessions(times));
    }),
    { numRuns: 500 },
  );
});

test('events exactly one gap apart are one session; a millisecond more makes two', () => {
  assert.deepEqual(modelSessions([0, GAP]), [{ start: 0, end: 2 * GAP, count: 2 }]);
  assert.equal(joins({ start: 0, end: GAP }, GAP, GAP), true);
  assert.equal(joins({ start: 0, end: GAP }, GAP + 1, GAP), false);
  assert.equal(joins({ start: GAP + 1, end: 2 * GAP + 1 }, 0, GAP), false);
});

// Nothing is late (lateness far beyond the test's range), so every event must be counted; the
// 1-minute watermark still closes sessions mid-run, so merges reach settled and amended rows.
const sessions = defineStream({
  name: 'ecommerce',
  description: 'ecommerce payload in 30 s sessions, for planning tests',
  partitions: 1,
  schema: ecommerce.schema,
  eventTime: 'timestamp',
  idField: 'transaction_id',
  keyBy: ['product_category'],
  windows: [session('30s')],
  aggregations: ecommerce.aggregations,
  watermark: '1m',
  allowedLateness: '1000d',
  windowRetention: '2000d',
});

interface ModelSession {
  start: number;
  end: number;
  events: Set<number>;
  status: 'provisional' | 'settled' | 'amended';
  version: number;
}

/**
 * The contract per batch, written independently of stages/plan.ts and the window operators: after
 * each batch the sessions are the model sessions of every event so far. One that gained events is
 * a new version if a part of it had been emitted, `amended` if it is closed and had an emitted part
 * (or lies wholly behind the committed watermark), else `settled` when closed, else provisional;
 * one that gained nothing keeps its status and version and settles when the watermark passes its
 * end.
 */
function sessionModel(
  batches: readonly (readonly { t: number; key: string }[])[],
): Map<string, ModelSession> {
  const all: { t: number; key: string; batch: number }[] = [];
  let current = new Map<string, ModelSession>();
  let maxTime = Number.NEGATIVE_INFINITY;
  batches.forEach((batch, b) => {
    const committed = maxTime === Number.NEGATIVE_INFINITY ? null : maxTime - 60_000;
    for (const e of batch) {
      all.push({ ...e, batch: b });
      maxTime = Math.max(maxTime, e.t);
    }
    const watermark = maxTime - 60_000;
    const next = new Map<string, ModelSession>();
    for (const key of ['a', 'b']) {
      const indexed = all
        .map((e, i) => ({ ...e, i }))
        .filter((e) => e.key === key)
        .sort((x, y) => x.t - y.t);
      const runs: { start: number; end: number; events: Set<number> }[] = [];
      for (const e of indexed) {
        const last = runs.at(-1);
        if (last !== undefined && e.t <= last.end) {
          last.end = e.t + GAP;
          last.events.add(e.i);
        } else runs.push({ start: e.t, end: e.t + GAP, events: new Set([e.i]) });
      }
      for (const run of runs) {
        const parts = [...current.values()].filter(
          (p) => [...p.events].every((i) => run.events.has(i)) && all[[...p.events][0] ?? -1]?.key === key,
        );
        const gained = [...run.events].some((i) => all[i]?.batch === b);
        const closed = run.end <= watermark;
        const part = parts[0];
        if (!gained && part !== undefined) {
          next.set(`${key}|${run.start}`, {
            ...run,
            status: part.status === 'provisional' && closed ? 'settled' : part.status,
            version: part.version,
          });
          continue;
        }
        const emitted = parts.some((p) => p.status !== 'provisional');
        const version = Math.max(1, ...parts.map((p) => p.version)) + (emitted ? 1 : 0);
        const behind = committed !== null && run.end <= committed;
        const status = closed ? (emitted || behind ? 'amended' : 'settled') : 'provisional';
        next.set(`${key}|${run.start}`, { ...run, status, version });
      }
    }
    current = next;
  });
  return current;
}

test('planning sessions over any batches and orders ends where the model does: sessions, counts, statuses, versions', async () => {
  const event = fc.record({ t: fc.integer({ min: 0, max: 8 * 60_000 }), key: fc.constantFrom('a', 'b') });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(event, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 12 }),
      async (batches) => {
        const stored = storedRows();
        const state = partitionState(sessions);
        const deps = planDeps(stored);
        let offset = 0;
        for (const batch of batches) {
          const records = batch.map(({ t, key }) => ecommerceRecord(offset++, T0 + t, { category: key }));
          const plan = planRecords(state, records, deps);
          assert.ok(plan);
          assert.equal(plan.counts.late, 0);
          const written = new Set(plan.rows.map((r) => `${r.key}|${r.start}`));
          for (const gone of plan.removed)
            assert.ok(!written.has(`${gone.key}|${gone.start}`), 'a row is never both written and removed');
          remember(stored, plan);
          applyPlan(state, plan);
        }
        const want = sessionModel(batches.map((b) => b.map(({ t, key }) => ({ t: T0 + t, key }))));
        const got = new Map([...stored.rows.values()].map((r) => [`${r.key}|${r.start}`, r]));
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the sessions');
        for (const [id, w] of want) {
          const row = got.get(id);
          assert.ok(row);
          assert.deepEqual(
            { end: row.end, count: row.values.count, status: row.status, version: row.version },
            { end: w.end, count: w.events.size, status: w.status, version: w.version },
            `session ${id}`,
          );
          // Memory holds exactly the open sessions (what a restart would reload as provisional).
          const held = state.windows.has(`default\u0000session:30s\u0000${row.start}\u0000${row.key}`);
          assert.equal(held, w.status === 'provisional', `${id} held in memory`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
