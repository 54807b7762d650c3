// The working window state in the real Redis, and a takeover against the real PostgreSQL
// (guarantee 2). The state and its offset move together under one epoch: a zombie's commit or one
// from a stale position is refused whole. A new owner resumes from Redis when Redis stands where
// PostgreSQL does; writes Redis's last commit to PostgreSQL first when a crash came between the two;
// and rebuilds from PostgreSQL when Redis was wiped or lost its last writes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DbHandle } from '@sluice/shared/db/client';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import type { WindowStatus } from '@sluice/shared/db/schema';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { stackEnv } from '../../shared/test/harness.ts';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate } from '../../shared/test/services.ts';
import { resumePartition } from '../src/commit/takeover.ts';
import type { PartitionState } from '../src/partition-state.ts';
import type { WindowSink } from '../src/stores/postgres-rows.ts';
import { createWindowSink } from '../src/stores/postgres-rows.ts';
import type {
  PartitionRef,
  Position,
  StateCommit,
  StateStore,
  StoredRow,
} from '../src/stores/redis-state.ts';
import { createStateStore } from '../src/stores/redis-state.ts';
import { partitionState as freshPartition, T0 } from './plan-fixtures.ts';

let iso: Isolation;
let db: DbHandle;
let sql: postgres.Sql;
let redis: Redis;
let store: StateStore;
let prefix: string;

before(async () => {
  iso = await isolate('state');
  db = createDb({ url: iso.databaseUrl, applicationName: 'state-store-test' });
  await applyMigrations(db.db);
  sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
  redis = new Redis(stackEnv().redisUrl);
  prefix = `${iso.env.SLUICE_STATE_PREFIX}${iso.topicPrefix}`;
  store = createStateStore({ redis, prefix });
});

after(async () => {
  redis.disconnect();
  await sql.end();
  await db.close();
  await iso.cleanup();
});

const MINUTE = 60_000;

function row(minute: number, count: number, status: WindowStatus = 'provisional'): StoredRow {
  return {
    tenant: 'default',
    window: '1m',
    start: T0 + minute * MINUTE,
    end: T0 + (minute + 1) * MINUTE,
    key: 'Books',
    values: { count },
    state: { count },
    status,
    version: 1,
  };
}

const at = (offset: bigint | null, watermark: number | null): Position => ({ offset, watermark });

function change(epoch: number, from: Position, to: Position, rows: StoredRow[]): StateCommit {
  return { epoch, from, to, maxEventTime: to.watermark, rows, removed: [] };
}

const counts = (rows: readonly StoredRow[]) =>
  rows.map((r) => [(r.start - T0) / MINUTE, r.values.count, r.status]).sort();

test('state and offset move together under one epoch; a zombie or a stale position is refused', async () => {
  const ref: PartitionRef = { group: 'g1', stream: 'ecommerce', partition: 0 };
  const first = await store.take(ref, 1);
  assert.deepEqual(first, { ok: true, value: null });
  assert.equal(
    (await store.seed(ref, 1, { position: at(null, null), maxEventTime: null, windows: [] })).ok,
    true,
  );

  // Minute 0 stays open, minute 1 settles: only the open one stays in the state.
  const c1 = change(1, at(null, null), at(10n, T0), [row(0, 3), row(1, 5, 'settled')]);
  assert.equal((await store.commit(ref, c1)).ok, true);

  // A second owner takes over with epoch 2: it sees the open window and the last commit whole.
  const taken = await store.take(ref, 2);
  assert.ok(taken.ok && taken.value !== null);
  assert.deepEqual(taken.value.position, at(10n, T0));
  assert.equal(taken.value.maxEventTime, T0);
  assert.deepEqual(counts(taken.value.windows), [[0, 3, 'provisional']]);
  assert.deepEqual(taken.value.last?.to, at(10n, T0));
  assert.deepEqual(counts(taken.value.last?.rows ?? []), [
    [0, 3, 'provisional'],
    [1, 5, 'settled'],
  ]);

  // The first owner, still holding a batch (a zombie), is refused; so is its later take.
  const zombie = change(1, at(10n, T0), at(20n, T0 + MINUTE), [row(0, 99)]);
  assert.deepEqual(await store.commit(ref, zombie), { ok: false, error: { fenced: true } });
  assert.deepEqual(await store.take(ref, 1), { ok: false, error: { fenced: true } });
  // The new owner from a position it did not read (stale) is refused too.
  const stale = change(2, at(null, null), at(20n, T0 + MINUTE), [row(0, 4)]);
  assert.deepEqual(await store.commit(ref, stale), { ok: false, error: { fenced: true } });

  // From the position it read, it lands: minute 0 settles and leaves, a merged session leaves too.
  const c2: StateCommit = {
    ...change(2, at(10n, T0), at(20n, T0 + 2 * MINUTE), [row(0, 4, 'settled'), row(2, 1)]),
    removed: [{ tenant: 'default', stream: 'ecommerce', window: '1m', start: T0 + 2 * MINUTE, key: 'Books' }],
  };
  assert.equal((await store.commit(ref, c2)).ok, true);
  const after2 = await store.take(ref, 3);
  assert.ok(after2.ok && after2.value !== null);
  assert.deepEqual(after2.value.windows, []);
  assert.deepEqual(after2.value.position, at(20n, T0 + 2 * MINUTE));

  // A wiped state refuses every commit: the owner must take it again (and rebuild).
  await redis.del(`${prefix}{g1|ecommerce|0}:meta`);
  const c3 = change(3, at(20n, T0 + 2 * MINUTE), at(30n, T0 + 2 * MINUTE), []);
  assert.deepEqual(await store.commit(ref, c3), { ok: false, error: { fenced: true } });
});

test("a partition's keys share one hash tag (one Redis Cluster slot) and carry group, stream and partition", async () => {
  const ref: PartitionRef = { group: 'g-tag', stream: 'ecommerce', partition: 4 };
  await store.take(ref, 1);
  await store.seed(ref, 1, { position: at(null, null), maxEventTime: null, windows: [row(0, 1)] });
  await store.commit(ref, change(1, at(null, null), at(1n, T0), [row(0, 2)]));
  const keys = await redis.keys(`${prefix}*g-tag*`);
  assert.equal(keys.length, 3);
  // Redis Cluster hashes only what is between the first `{` and the next `}`.
  const tags = new Set(keys.map((k) => k.slice(k.indexOf('{') + 1, k.indexOf('}', k.indexOf('{')))));
  assert.deepEqual([...tags], ['g-tag|ecommerce|4']);
});

// ---- takeover: resumePartition against the real Redis and PostgreSQL ----

/** Each takeover test has a partition of its own: a rebuild reads every open window of one. */
function partitionState(partition: number): PartitionState {
  return { ...freshPartition(), topic: `${iso.topicPrefix}ecommerce`, partition };
}

/** A sink that counts how often a takeover reads PostgreSQL's open windows. */
function countingSink(sink: WindowSink): { sink: WindowSink; reads: () => number } {
  let reads = 0;
  return {
    sink: {
      ...sink,
      readOpenWindows(stream, partition) {
        reads += 1;
        return sink.readOpenWindows(stream, partition);
      },
    },
    reads: () => reads,
  };
}

/** One batch as the processor commits it: Redis first, then PostgreSQL, with the same rows. */
async function commitBoth(
  state: PartitionState,
  group: string,
  to: Position & { offset: bigint },
  rows: StoredRow[],
  sink: WindowSink,
  { postgresToo = true } = {},
) {
  const ref = { group, stream: 'ecommerce', partition: state.partition };
  const from = at(state.nextOffset, state.watermark);
  assert.equal((await store.commit(ref, change(state.epoch, from, to, rows))).ok, true);
  if (postgresToo) {
    const offset = {
      group,
      topic: state.topic,
      partition: state.partition,
      expected: state.nextOffset,
      epoch: state.epoch,
      next: to.offset,
      watermark: to.watermark,
    };
    const written = rows.map((r) => ({ ...r, stream: 'ecommerce', partition: state.partition }));
    assert.equal((await sink.commit(written, offset)).ok, true);
  }
  state.nextOffset = to.offset;
  state.watermark = to.watermark;
}

async function stored(group: string) {
  const rows = await sql<{ minute: number; count: number; status: string }[]>`
    select ((extract(epoch from window_start) * 1000 - ${T0}) / 60000)::int as minute,
           (values->>'count')::int as count, status
    from windows where stream = 'ecommerce' and key = ${group} order by window_start`;
  const [offsets] = await sql<{ next_offset: string | null; watermark: string | null }[]>`
    select next_offset::text, watermark::text from source_offsets where consumer_group = ${group}`;
  return { rows: rows.map((r) => [r.minute, r.count, r.status]), offsets };
}

const keyed = (group: string, r: StoredRow): StoredRow => ({ ...r, key: group });
const held = (state: PartitionState) =>
  [...state.windows.values()].map((w) => [(w.start - T0) / MINUTE, w.state.count, w.status]).sort();

test('a takeover resumes from Redis when it stands where PostgreSQL does', async () => {
  const group = 'resume-redis';
  const { sink, reads } = countingSink(createWindowSink(db.db));
  const owner = partitionState(1);
  assert.equal(await resumePartition(owner, { sink, store, group }), 'postgres');
  await commitBoth(owner, group, { offset: 10n, watermark: T0 }, [keyed(group, row(0, 3))], sink);

  const next = partitionState(1);
  assert.equal(await resumePartition(next, { sink, store, group }), 'redis');
  // Only the first (empty) takeover read PostgreSQL; this one had all it needed in Redis.
  assert.equal(reads(), 1);
  assert.equal(next.epoch, owner.epoch + 1);
  assert.deepEqual([next.nextOffset, next.watermark, next.maxEventTime], [10n, T0, T0]);
  assert.deepEqual(held(next), [[0, 3, 'provisional']]);
});

/** An owner that took `partition` over and committed minute 0 (count 3) at offset 10 to both stores. */
async function ownerAtTen(
  group: string,
  partition: number,
): Promise<{ sink: WindowSink; owner: PartitionState }> {
  const sink = createWindowSink(db.db);
  const owner = partitionState(partition);
  await resumePartition(owner, { sink, store, group });
  await commitBoth(owner, group, { offset: 10n, watermark: T0 }, [keyed(group, row(0, 3))], sink);
  return { sink, owner };
}

test('a crash between the Redis and the PostgreSQL commit: the next owner writes the last commit first', async () => {
  const group = 'resume-last';
  const { sink, owner } = await ownerAtTen(group, 2);
  // The next batch settles minute 0 and opens minute 1, and reaches only Redis (kill -9 here).
  const batch = [keyed(group, row(0, 4, 'settled')), keyed(group, row(1, 2))];
  await commitBoth(owner, group, { offset: 20n, watermark: T0 + MINUTE }, batch, sink, {
    postgresToo: false,
  });
  assert.deepEqual((await stored(group)).offsets, { next_offset: '10', watermark: String(T0) });

  const next = partitionState(2);
  assert.equal(await resumePartition(next, { sink, store, group }), 'redis');
  assert.deepEqual(await stored(group), {
    rows: [
      [0, 4, 'settled'],
      [1, 2, 'provisional'],
    ],
    offsets: { next_offset: '20', watermark: String(T0 + MINUTE) },
  });
  assert.deepEqual([next.nextOffset, next.watermark], [20n, T0 + MINUTE]);
  assert.deepEqual(held(next), [[1, 2, 'provisional']]);
  // Taking over again writes nothing twice: PostgreSQL already holds the last commit.
  assert.equal(await resumePartition(partitionState(2), { sink, store, group }), 'redis');
  assert.deepEqual((await stored(group)).offsets, { next_offset: '20', watermark: String(T0 + MINUTE) });
});

test('Redis wiped, or behind PostgreSQL: the next owner rebuilds from PostgreSQL and seeds Redis', async () => {
  const group = 'resume-rebuild';
  const ref = { group, stream: 'ecommerce', partition: 3 };
  const { sink, owner } = await ownerAtTen(group, 3);
  const keys = [`${prefix}{${group}|ecommerce|3}:meta`, `${prefix}{${group}|ecommerce|3}:windows`];
  const dumps = await Promise.all(keys.map((k) => redis.dumpBuffer(k)));
  await commitBoth(owner, group, { offset: 20n, watermark: T0 }, [keyed(group, row(0, 7))], sink);

  // Redis lost its last write (a crash within its fsync second): it stands at 10, PostgreSQL at 20.
  for (const [i, key] of keys.entries()) {
    const dump = dumps[i];
    assert.ok(dump !== null && dump !== undefined);
    await redis.restore(key, 0, dump, 'REPLACE');
  }
  const behind = partitionState(3);
  assert.equal(await resumePartition(behind, { sink, store, group }), 'postgres');
  assert.deepEqual([behind.nextOffset, held(behind)], [20n, [[0, 7, 'provisional']]]);
  const seeded = await store.take(ref, behind.epoch);
  assert.ok(seeded.ok && seeded.value !== null);
  assert.deepEqual(seeded.value.position, at(20n, T0));
  assert.deepEqual(counts(seeded.value.windows), [[0, 7, 'provisional']]);

  // Wiped: no state at all. PostgreSQL's rows and offset again, never a count from zero.
  await redis.del(...keys, `${prefix}{${group}|ecommerce|3}:last`);
  const wiped = partitionState(3);
  assert.equal(await resumePartition(wiped, { sink, store, group }), 'postgres');
  assert.deepEqual([wiped.nextOffset, wiped.watermark, held(wiped)], [20n, T0, [[0, 7, 'provisional']]]);
});

test('a damaged state in Redis is treated as lost: the next owner rebuilds from PostgreSQL', async () => {
  const group = 'resume-damaged';
  const { sink } = await ownerAtTen(group, 4);
  await redis.hset(`${prefix}{${group}|ecommerce|4}:windows`, 'broken', '{not json');
  const next = partitionState(4);
  assert.equal(await resumePartition(next, { sink, store, group }), 'postgres');
  assert.deepEqual([next.nextOffset, held(next)], [10n, [[0, 3, 'provisional']]]);
});
