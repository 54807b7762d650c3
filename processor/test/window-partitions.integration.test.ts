// The window table partitioned by day on the real PostgreSQL (issue 26, migration 0008,
// shared/src/db/window-partitions.ts):
// - rows written for a day without a partition land (in the default), and maintenance moves them
//   into their day's partition once it makes one;
// - retention drops the days past the longest stream retention, deletes a shorter-lived stream's
//   older rows, and keeps every row within its stream's retention;
// - amendments of a kept window and late replays of a day with no partition still land through the
//   processor's own write path (the window sink), and survive the next maintenance;
// - one maintenance at a time across a fleet (the advisory lock);
// - the query routes' SQL, on a month of day partitions, reads only the days a request asks for
//   (EXPLAIN shows the other partitions pruned).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Db, DbHandle } from '@sluice/shared/db/client';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import * as schema from '@sluice/shared/db/schema';
import { DAY_MS, maintainWindowPartitions, recordRetention } from '@sluice/shared/db/window-partitions';
import { emptyState } from '@sluice/shared/streams/aggregate';
import { count } from '@sluice/shared/streams/define';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { createHealthRepo } from '../../query/src/health-repo.ts';
import { createWindowsRepo } from '../../query/src/windows-repo.ts';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate } from '../../shared/test/services.ts';
import type { WindowRowWrite } from '../src/stores/postgres-rows.ts';
import { createWindowSink } from '../src/stores/postgres-rows.ts';

let iso: Isolation;
let db: DbHandle;
let sql: postgres.Sql;

before(async () => {
  iso = await isolate('partitions');
  db = createDb({ url: iso.databaseUrl, applicationName: 'partitions-test' });
  await applyMigrations(db.db);
  sql = postgres(iso.databaseUrl, { max: 2, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await db.close();
  await iso.cleanup();
});

const AGGS = [count('count')];
/** "Now" for these tests: noon, so a day's partition is unambiguous. */
const NOW = Date.parse('2026-06-15T12:00:00Z');
const day = (n: number) => NOW - 12 * 3_600_000 + n * DAY_MS;

function row(stream: string, start: number, n: number, key = 'k'): WindowRowWrite {
  const state = emptyState(AGGS);
  state.count = n;
  return {
    tenant: 'default',
    stream,
    window: '1h',
    start,
    end: start + 3_600_000,
    key,
    values: { count: n },
    state,
    status: 'provisional',
    version: 1,
    partition: 0,
  };
}

async function partitions(): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'windows'::regclass order by 1`;
  return rows.map((r) => r.name);
}

/** Each stored row as `stream@day:count`, with the table that holds it. */
async function stored(stream?: string): Promise<string[]> {
  const rows = await sql<{ stream: string; start: Date; count: number; tbl: string }[]>`
    select stream, window_start as start, (values->>'count')::int as count, tableoid::regclass::text as tbl
    from windows ${stream === undefined ? sql`` : sql`where stream = ${stream}`} order by stream, window_start`;
  return rows.map(
    (r) => `${r.stream}@${Math.floor((r.start.getTime() - day(0)) / DAY_MS)}:${r.count} in ${r.tbl}`,
  );
}

/** Commits rows the way the processor does: a claimed partition, rows and the offset in one go. */
async function write(group: string, rows: WindowRowWrite[]): Promise<void> {
  const sink = createWindowSink(db.db);
  const claim = await sink.claimPartition(group, 't.events', 0);
  const next = (claim.nextOffset ?? 0n) + 1n;
  const result = await sink.commit(rows, {
    group,
    topic: 't.events',
    partition: 0,
    epoch: claim.epoch,
    expected: claim.nextOffset,
    next,
    watermark: NOW,
  });
  assert.equal(result.ok, true);
}

test('the window table is partitioned by window_start, with a default partition', async () => {
  const [t] = await sql<{ strategy: string; key: string }[]>`
    select p.partstrat as strategy, pg_get_partkeydef(p.partrelid) as key
    from pg_partitioned_table p where p.partrelid = 'windows'::regclass`;
  assert.deepEqual(t, { strategy: 'r', key: 'RANGE (window_start)' });
  assert.deepEqual(await partitions(), ['windows_default']);
});

test('retention drops old days, keeps recent ones; amendments and late replays still land', async () => {
  await recordRetention(db.db, [
    { stream: 'short', windowRetentionMs: 30 * DAY_MS },
    { stream: 'long', windowRetentionMs: 60 * DAY_MS },
  ]);
  // Rows for days with no partition yet: they land in the default.
  await write('g1', [
    row('long', day(-100), 1),
    row('long', day(-40), 2),
    row('long', day(-1), 3),
    row('long', day(0), 4),
    row('short', day(-40), 5),
    row('short', day(-1), 6),
  ]);
  assert.equal(
    (await stored()).every((r) => r.endsWith('in windows_default')),
    true,
  );

  const first = await maintainWindowPartitions(db.db, { now: NOW, aheadDays: 3 });
  assert.ok(first.ok, first.ok ? '' : first.error.message);
  assert.equal(first.value.ran, true);
  // Made: yesterday to three days ahead, and day -40 (rows in the default within 60 days); not day
  // -100 (past every retention).
  assert.deepEqual(first.value.created, [
    'windows_p20260506',
    'windows_p20260614',
    'windows_p20260615',
    'windows_p20260616',
    'windows_p20260617',
    'windows_p20260618',
  ]);
  assert.equal(first.value.moved, 5);
  // Deleted one by one: long's day -100 (in the default) and short's day -40 (past its 30 days).
  assert.equal(first.value.deleted, 2);
  assert.deepEqual(await stored(), [
    'long@-40:2 in windows_p20260506',
    'long@-1:3 in windows_p20260614',
    'long@0:4 in windows_p20260615',
    'short@-1:6 in windows_p20260614',
  ]);

  // An amendment of a kept window (the same key, a new count) and a late replay of day -20, which
  // has no partition: both land through the sink, and the next round gives day -20 its partition.
  await write('g1', [row('long', day(-1), 30), row('long', day(-20), 7)]);
  const second = await maintainWindowPartitions(db.db, { now: NOW, aheadDays: 3 });
  assert.ok(second.ok);
  assert.deepEqual(second.value.created, ['windows_p20260526']);
  assert.deepEqual(second.value.dropped, []);
  assert.equal(second.value.deleted, 0);
  assert.deepEqual(await stored('long'), [
    'long@-40:2 in windows_p20260506',
    'long@-20:7 in windows_p20260526',
    'long@-1:30 in windows_p20260614',
    'long@0:4 in windows_p20260615',
  ]);

  // 25 days later: day -40 is 65 days old, past the longest retention (60): its partition is
  // dropped whole. Day -20 (45 days old) stays: long keeps 60 days.
  const later = await maintainWindowPartitions(db.db, { now: NOW + 25 * DAY_MS, aheadDays: 3 });
  assert.ok(later.ok);
  assert.deepEqual(later.value.dropped, ['windows_p20260506']);
  assert.deepEqual(await stored('long'), [
    'long@-20:7 in windows_p20260526',
    'long@-1:30 in windows_p20260614',
    'long@0:4 in windows_p20260615',
  ]);
  // short's day -1 is 26 days old: kept (30 days).
  assert.deepEqual(await stored('short'), ['short@-1:6 in windows_p20260614']);
  assert.equal((await partitions()).includes('windows_p20260506'), false);

  // A stream that keeps its windows for good (no windowRetention) stops whole days from being
  // dropped; the others' rows past their retention still go, one by one.
  await recordRetention(db.db, [{ stream: 'forever', windowRetentionMs: null }]);
  await write('g1', [row('forever', day(-20), 8)]);
  const kept = await maintainWindowPartitions(db.db, { now: NOW + 100 * DAY_MS, aheadDays: 3 });
  assert.ok(kept.ok);
  assert.deepEqual(kept.value.dropped, []);
  assert.deepEqual(await stored(), ['forever@-20:8 in windows_p20260526']);
  assert.equal(kept.value.deleted, 4);
});

test('one maintenance at a time: a worker that finds the lock held does nothing this round', async () => {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${0x51_1ce_0001})`;
    const blocked = await maintainWindowPartitions(db.db, { now: NOW, aheadDays: 3 });
    assert.deepEqual(blocked, {
      ok: true,
      value: { ran: false, created: [], moved: 0, dropped: [], deleted: 0 },
    });
  });
});

/** A drizzle Db over a pool that records each statement sent, with its parameters. */
function recordingDb(url: string): {
  db: Db;
  seen: { query: string; params: unknown[] }[];
  end(): Promise<void>;
} {
  const seen: { query: string; params: unknown[] }[] = [];
  const client = postgres(url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, query, params) => seen.push({ query, params: [...params] }),
  });
  return { db: drizzle(client, { schema }), seen, end: () => client.end() };
}

interface PlanNode {
  'Relation Name'?: string;
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}

function relations(node: PlanNode): string[] {
  return [
    ...(node['Relation Name'] === undefined ? [] : [node['Relation Name']]),
    ...(node.Plans ?? []).flatMap(relations),
  ];
}

test("the query routes' SQL on a month of day partitions reads only the days asked for", async () => {
  const month = await isolate('partitions_month');
  const handle = createDb({ url: month.databaseUrl, applicationName: 'partitions-month' });
  const recorder = recordingDb(month.databaseUrl);
  try {
    await applyMigrations(handle.db);
    await recordRetention(handle.db, [{ stream: 'm', windowRetentionMs: 90 * DAY_MS }]);
    const rows = Array.from({ length: 31 * 24 }, (_, h) => row('m', day(-30) + h * 3_600_000, h));
    await handle.sql`
      insert into windows (tenant, stream, "window", window_start, window_end, key, values)
      select 'default', 'm', '1h', to_timestamp(s / 1000.0), to_timestamp(s / 1000.0 + 3600), 'k', '{"count":1}'
      from unnest(${handle.sql.array(rows.map((r) => String(r.start)))}::bigint[]) s`;
    const made = await maintainWindowPartitions(handle.db, { now: NOW, aheadDays: 1 });
    assert.ok(made.ok);
    const days = (
      await handle.sql<{ n: number }[]>`
      select count(*)::int as n from pg_inherits where inhparent = 'windows'::regclass`
    )[0]?.n;
    assert.equal(days, 33); // day -30 to day +1, and the default

    // The routes' own reads, through their repos, each sent once and recorded.
    const from = day(-3) + 3_600_000;
    const windows = createWindowsRepo(recorder.db);
    const got = await windows.windows({
      tenant: 'default',
      stream: 'm',
      window: '1h',
      from,
      to: from + 6 * 3_600_000,
      limit: 100,
      stateOf: null,
      allAggs: AGGS,
    });
    assert.equal(got.length, 6);
    await createHealthRepo(recorder.db).tenantActivity({
      tenant: 'default',
      stream: 'm',
      window: '1h',
      from: day(-1),
      countName: 'count',
      qualityName: null,
    });
    const routeSql = recorder.seen.filter((s) => /from windows w/.test(s.query));
    assert.equal(routeSql.length, 2);
    const scanned: string[][] = [];
    for (const statement of routeSql) {
      const [plan] = await handle.sql.unsafe<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(
        `explain (format json) ${statement.query}`,
        statement.params as postgres.ParameterOrJSON<never>[],
      );
      const root = plan?.['QUERY PLAN'][0]?.Plan;
      assert.ok(root);
      scanned.push([...new Set(relations(root))].sort());
    }
    // GET /v1/streams/{s}/windows over six hours of day -3: that day's partition alone (the
    // default is pruned too: every instant asked for has its own day partition).
    assert.deepEqual(scanned[0], ['windows_p20260612']);
    // The health route's activity since yesterday: yesterday, today, tomorrow and the default.
    assert.deepEqual(scanned[1], [
      'windows_default',
      'windows_p20260614',
      'windows_p20260615',
      'windows_p20260616',
    ]);
  } finally {
    await recorder.end();
    await handle.close();
    await month.cleanup();
  }
});
