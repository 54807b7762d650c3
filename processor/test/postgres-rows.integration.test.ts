// The window sink on the real PostgreSQL. Guarantee 2, fencing: each owner of a partition claims the
// next epoch, and a commit of an earlier owner (a zombie that lost the partition but still has a
// batch in flight) is refused whole: no row of it lands, no removal of it happens, the offset stays
// the new owner's. A commit larger than one statement's parameters could carry still lands whole,
// and a row written again takes every new value (its trace id only when the commit has one).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DbHandle } from '@sluice/shared/db/client';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { emptyState } from '@sluice/shared/streams/aggregate';
import { count } from '@sluice/shared/streams/define';
import postgres from 'postgres';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate } from '../../shared/test/services.ts';
import type { OffsetWrite, WindowRowWrite } from '../src/stores/postgres-rows.ts';
import { createWindowSink } from '../src/stores/postgres-rows.ts';

let iso: Isolation;
let db: DbHandle;
let sql: postgres.Sql;

before(async () => {
  iso = await isolate('sink');
  db = createDb({ url: iso.databaseUrl, applicationName: 'fencing-test' });
  await applyMigrations(db.db);
  sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await db.close();
  await iso.cleanup();
});

const AGGS = [count('count')];
const T0 = Date.parse('2026-05-01T00:00:00Z');

function row(start: number, n: number): WindowRowWrite {
  const state = emptyState(AGGS);
  state.count = n;
  return {
    tenant: 'default',
    stream: 'ecommerce',
    window: '1m',
    start,
    end: start + 60_000,
    key: 'Books',
    values: { count: n },
    state,
    status: 'provisional',
    version: 1,
    partition: 0,
  };
}

const offset = (
  epoch: number,
  expected: bigint | null,
  next: bigint,
  group = 'g',
  partition = 0,
): OffsetWrite => ({
  group,
  topic: 't.ecommerce',
  partition,
  epoch,
  expected,
  next,
  watermark: T0,
});

async function stored() {
  const rows = await sql<{ start: Date; count: number }[]>`
    select window_start as start, (values->>'count')::int as count from windows order by window_start`;
  const [offsets] = await sql<{ next_offset: string; epoch: string }[]>`
    select next_offset::text, epoch::text from source_offsets where consumer_group = 'g'`;
  return { rows: rows.map((r) => [r.start.getTime() - T0, r.count]), offsets };
}

test("a zombie write is refused: the partition is the newest claimant's", async () => {
  const sink = createWindowSink(db.db);
  const a = await sink.claimPartition('g', 't.ecommerce', 0);
  assert.deepEqual(a, { nextOffset: null, watermark: null, epoch: 1 });
  assert.equal((await sink.commit([row(T0, 3)], offset(a.epoch, null, 10n))).ok, true);

  // B takes the partition over (a rebalance, or A's session timed out while it was stalled).
  const b = await sink.claimPartition('g', 't.ecommerce', 0);
  assert.deepEqual(b, { nextOffset: 10n, watermark: T0, epoch: 2 });

  // A wakes up with a batch in flight: it read offset 10 too, but its epoch is gone.
  const zombie = await sink.commit([row(T0, 99), row(T0 + 60_000, 7)], offset(a.epoch, 10n, 20n), {
    removed: [{ tenant: 'default', stream: 'ecommerce', window: '1m', start: T0, key: 'Books' }],
  });
  assert.deepEqual(zombie, { ok: false, error: { fenced: true } });
  assert.deepEqual(await stored(), { rows: [[0, 3]], offsets: { next_offset: '10', epoch: '2' } });

  // The new owner's commit of the same range lands.
  assert.equal((await sink.commit([row(T0, 5)], offset(b.epoch, 10n, 20n))).ok, true);
  assert.deepEqual(await stored(), { rows: [[0, 5]], offsets: { next_offset: '20', epoch: '2' } });

  // Ownership moves back: A claims again (epoch 3) and resumes where B left it; B is now the zombie.
  const again = await sink.claimPartition('g', 't.ecommerce', 0);
  assert.deepEqual(again, { nextOffset: 20n, watermark: T0, epoch: 3 });
  assert.deepEqual(await sink.commit([row(T0, 1)], offset(b.epoch, 20n, 30n)), {
    ok: false,
    error: { fenced: true },
  });
  assert.equal((await sink.commit([row(T0, 6)], offset(again.epoch, 20n, 30n))).ok, true);
  assert.deepEqual(await stored(), { rows: [[0, 6]], offsets: { next_offset: '30', epoch: '3' } });
});

test('within one epoch, a commit from a stale offset is refused too', async () => {
  const sink = createWindowSink(db.db);
  const claim = await sink.claimPartition('g2', 't.ecommerce', 0);
  const at = (expected: bigint | null, next: bigint) => offset(claim.epoch, expected, next, 'g2');
  assert.equal((await sink.commit([], at(null, 5n))).ok, true);
  assert.deepEqual(await sink.commit([], at(null, 9n)), { ok: false, error: { fenced: true } });
  assert.deepEqual(await sink.commit([], at(3n, 9n)), { ok: false, error: { fenced: true } });
  assert.equal((await sink.commit([], at(5n, 9n))).ok, true);
});

test('a commit of more rows than one statement can carry (65,535 parameters) lands whole', async () => {
  const sink = createWindowSink(db.db);
  const claim = await sink.claimPartition('g3', 't.ecommerce', 1);
  const rows = Array.from({ length: 7_000 }, (_, i) => ({
    ...row(T0 + i * 60_000, i + 1),
    key: 'Many',
    partition: 1,
  }));
  const committed = await sink.commit(rows, offset(claim.epoch, null, 7_000n, 'g3', 1));
  assert.equal(committed.ok, true);
  const [stored] = await sql<{ n: number; total: string }[]>`
    select count(*)::int as n, sum((values->>'count')::bigint)::text as total from windows where key = 'Many'`;
  assert.deepEqual(stored, { n: 7_000, total: String((7_000 * 7_001) / 2) });
});

test('a row written again takes its new end, values, state, status, version and epoch; a commit without a trace id keeps the last', async () => {
  const sink = createWindowSink(db.db);
  const claim = await sink.claimPartition('g4', 't.ecommerce', 2);
  const at = (expected: bigint | null, next: bigint) => offset(claim.epoch, expected, next, 'g4', 2);
  const key = 'Cafés "&" 😀';
  const first = { ...row(T0, 1), key, partition: 2, values: { count: 1, avg: null } };
  assert.equal((await sink.commit([first], at(null, 1n), { traceId: 'a'.repeat(32) })).ok, true);
  const again = {
    ...first,
    end: T0 + 90_000,
    values: { count: 2, avg: 1.5 },
    state: { ...first.state, count: 2 },
    status: 'amended' as const,
    version: 2,
  };
  assert.equal((await sink.commit([again], at(1n, 2n))).ok, true);
  const stored = await sql<Record<string, unknown>[]>`
    select key, window_start, window_end, "values", state, status, version, source_partition,
           source_epoch::int as epoch, trace_id
    from windows where key = ${key}`;
  assert.deepEqual(
    stored.map((r) => ({ ...r })),
    [
      {
        key,
        window_start: new Date(T0),
        window_end: new Date(T0 + 90_000),
        values: { count: 2, avg: 1.5 },
        state: { count: 2 },
        status: 'amended',
        version: 2,
        source_partition: 2,
        epoch: claim.epoch,
        trace_id: 'a'.repeat(32),
      },
    ],
  );
});
