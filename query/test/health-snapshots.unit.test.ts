// The live route's shared health snapshots as a unit (the route's use of them runs on the real
// services in live.integration.test.ts and stream-health.integration.test.ts): one computation per (stream, tenant,
// operator or not) per interval however many ask, one in flight shared; apart per tenant and per
// operator view; a bound on the entries held (the oldest goes first); a failed computation answers
// undefined for its interval and is logged at most once per interval across every snapshot, with
// the count of the failures it did not log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '@sluice/shared/log';
import { equipmentMetrics as metrics } from '@sluice/shared/streams/bakery';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { healthSnapshots } from '../src/health-snapshots.ts';

function harness(maxEntries = 10) {
  let now = 1_000_000;
  const computed: string[] = [];
  let fail = false;
  let hold: Promise<void> | undefined;
  const lines: { level: string; msg: string; failuresNotLogged?: number; tenant?: string }[] = [];
  const snapshots = healthSnapshots({
    compute: async (stream, tenant, operator) => {
      computed.push(`${stream.name}/${tenant}/${operator}`);
      await hold;
      if (fail) throw new Error('postgres away');
      return { stream: stream.name, tenant, operator, at: now };
    },
    everyMs: 5_000,
    maxEntries,
    now: () => now,
    log: createLogger('test', 'info', { write: (line: string) => lines.push(JSON.parse(line)) }),
  });
  return {
    snapshots,
    computed,
    lines,
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

test('one computation per interval however many ask, and one in flight is shared', async () => {
  const h = harness();
  let release: () => void = () => {};
  h.holding(
    new Promise<void>((resolve) => {
      release = resolve;
    }),
  );
  // A burst of connections while the first read is still in flight: one read.
  const burst = [1, 2, 3, 4].map(() => h.snapshots.get(ecommerce, 'a', false));
  release();
  const answers = await Promise.all(burst);
  assert.equal(h.computed.length, 1);
  assert.ok(
    answers.every((a) => a === answers[0]),
    'the same snapshot for every connection',
  );
  h.advance(4_999);
  await h.snapshots.get(ecommerce, 'a', false);
  assert.equal(h.computed.length, 1, 'still within the interval');
  h.advance(1);
  const fresh = (await h.snapshots.get(ecommerce, 'a', false)) as { at: number };
  assert.equal(h.computed.length, 2, 'read again once the interval is over');
  assert.equal(fresh.at, 1_005_000);
});

test("apart per stream, tenant and operator view: nobody gets another's snapshot", async () => {
  const h = harness();
  const a = (await h.snapshots.get(ecommerce, 'a', false)) as { tenant: string; operator: boolean };
  const b = (await h.snapshots.get(ecommerce, 'b', false)) as { tenant: string };
  const ops = (await h.snapshots.get(ecommerce, 'a', true)) as { operator: boolean };
  const other = (await h.snapshots.get(metrics, 'a', false)) as { stream: string };
  assert.deepEqual(h.computed, [
    'ecommerce/a/false',
    'ecommerce/b/false',
    'ecommerce/a/true',
    'equipment-metrics/a/false',
  ]);
  assert.equal(a.tenant, 'a');
  assert.equal(a.operator, false, "a plain key never gets an operator's snapshot");
  assert.equal(b.tenant, 'b');
  assert.equal(ops.operator, true);
  assert.equal(other.stream, 'equipment-metrics');
});

test('at most maxEntries snapshots held, the oldest dropped first', async () => {
  const h = harness(3);
  for (const tenant of ['t1', 't2', 't3', 't4']) await h.snapshots.get(ecommerce, tenant, false);
  assert.equal(h.snapshots.size(), 3);
  await h.snapshots.get(ecommerce, 't4', false);
  await h.snapshots.get(ecommerce, 't2', false);
  assert.equal(h.computed.length, 4, 't2 and t4 still held');
  await h.snapshots.get(ecommerce, 't1', false);
  assert.equal(h.computed.length, 5, 't1, the oldest, was dropped for t4');
  assert.equal(h.snapshots.size(), 3);
});

test('a failure answers undefined for its interval and is logged once per interval, not per ask', async () => {
  const h = harness();
  h.failing(true);
  assert.equal(await h.snapshots.get(ecommerce, 'a', false), undefined);
  assert.equal(await h.snapshots.get(ecommerce, 'a', false), undefined);
  assert.equal(await h.snapshots.get(ecommerce, 'b', false), undefined);
  assert.equal(h.computed.length, 2, "one read per snapshot: a's failure is not retried per ask");
  const warned = () => h.lines.filter((l) => l.level === 'warn');
  assert.equal(warned().length, 1, "b's failure in the same interval is counted, not logged");
  assert.equal(warned()[0]?.tenant, 'a');
  h.advance(5_000);
  assert.equal(await h.snapshots.get(ecommerce, 'a', false), undefined);
  assert.equal(warned().length, 2);
  assert.equal(warned()[1]?.failuresNotLogged, 1);
  h.failing(false);
  h.advance(5_000);
  assert.notEqual(await h.snapshots.get(ecommerce, 'a', false), undefined, 'back once the read works');
});
