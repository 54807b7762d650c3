// The local PostgreSQL is real: the committed drizzle migrations apply to a fresh database, a
// window row is UPSERTed through drizzle and read back with plain postgres.js.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql as dsql } from 'drizzle-orm';
import postgres from 'postgres';
import type { DbHandle } from '../../../shared/src/db/client.ts';
import { createDb } from '../../../shared/src/db/client.ts';
import { applyMigrations } from '../../../shared/src/db/migrate.ts';
import { windows } from '../../../shared/src/db/schema.ts';
import { dropDatabase } from '../../../shared/test/drop-database.ts';
import { stackEnv, uniqueName } from '../../../shared/test/harness.ts';

const env = stackEnv();
const dbName = uniqueName('sluice_test');
const admin = postgres(env.databaseUrl, { max: 1, onnotice: () => {} });
let handle: DbHandle;

function testDbUrl(): string {
  const url = new URL(env.databaseUrl);
  url.pathname = `/${dbName}`;
  return url.toString();
}

before(async () => {
  await admin.unsafe(`CREATE DATABASE "${dbName}"`);
  handle = createDb({ url: testDbUrl(), maxConnections: 2 });
});

after(async () => {
  await handle.close();
  await dropDatabase(admin, dbName);
  await admin.end();
});

test('migrations apply, and applying them again is a no-op', async () => {
  await applyMigrations(handle.db);
  await applyMigrations(handle.db);
  const tables = await handle.sql<{ table_name: string }[]>`
    select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
  assert.deepEqual(
    tables.map((t) => t.table_name),
    [
      'api_keys',
      'partition_health',
      'source_offsets',
      'stream_retention',
      'tenant_quotas',
      'webhook_sources',
      'windows',
      'windows_default',
    ],
  );
});

test('a window row UPSERTs with absolute values and reads back through postgres.js', async () => {
  const start = new Date('2026-11-22T10:00:00.000Z');
  const end = new Date('2026-11-22T10:01:00.000Z');
  const row = {
    stream: 'ecommerce',
    window: '1m',
    windowStart: start,
    windowEnd: end,
    key: 'Electronics',
    values: { count: 2, sum_amount: 300.5 },
  };
  const upsert = (values: Record<string, number>) =>
    handle.db
      .insert(windows)
      .values({ ...row, values })
      .onConflictDoUpdate({
        target: [windows.tenant, windows.stream, windows.window, windows.windowStart, windows.key],
        set: { values, version: dsql`${windows.version} + 1`, updatedAt: dsql`now()` },
      });
  await upsert({ count: 2, sum_amount: 300.5 });
  // A replay writes the same absolute values again: the row must not accumulate.
  await upsert({ count: 2, sum_amount: 300.5 });

  // An independent postgres.js client: drizzle's driver installs its own type parsers on the pool it wraps.
  const reader = postgres(testDbUrl(), { max: 1 });
  const rows = await reader<
    { key: string; values: Record<string, number>; status: string; version: number; window_start: Date }[]
  >`
    select key, values, status, version, window_start from windows where stream = 'ecommerce'`;
  await reader.end();
  assert.equal(rows.length, 1);
  const [read] = rows;
  assert.ok(read);
  assert.deepEqual(read.values, { count: 2, sum_amount: 300.5 });
  assert.equal(read.status, 'provisional');
  assert.equal(read.version, 2);
  assert.equal(read.window_start.toISOString(), start.toISOString());
});

test('the schema refuses an unknown status and an empty window', async () => {
  await assert.rejects(
    handle.sql`insert into windows (stream, "window", window_start, window_end, key, values, status)
               values ('s', '1m', now(), now() + interval '1 minute', 'k', '{}', 'final')`,
    /windows_status_check/,
  );
  await assert.rejects(
    handle.sql`insert into windows (stream, "window", window_start, window_end, key, values)
               values ('s', '1m', now(), now(), 'k', '{}')`,
    /windows_bounds_check/,
  );
});
