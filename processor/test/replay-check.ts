// Guarantee 2's replay check: a second processor reading the same topics from offset 0, in its own
// consumer group and database (the same dedup claims: its records are the ones that made them, so
// every one still counts), writes tables identical to the first, row for row.

import assert from 'node:assert/strict';
import postgres from 'postgres';
import { waitFor } from '../../shared/test/harness.ts';
import type { Runtime } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';

export async function assertReplayIdentical(
  env: Record<string, string>,
  sql: postgres.Sql,
  runtime?: Runtime,
): Promise<void> {
  const other = await isolate('processor-replay');
  const replayer = await startService(
    'processor',
    {
      ...env,
      SLUICE_DATABASE_URL: other.databaseUrl,
      SLUICE_CONSUMER_GROUP: `${env.SLUICE_CONSUMER_GROUP}-replay`,
    },
    runtime,
  );
  const otherSql = postgres(other.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const table = (db: postgres.Sql) =>
      db<{ row: string }[]>`
        select concat_ws('|', window_start, key, values::text, status, version) as row from windows
        order by window_start, key`;
    const want = (await table(sql)).map((r) => r.row);
    assert.ok(want.length > 0, 'the first run wrote windows');
    const got = await waitFor(
      async () => {
        const rows = (await table(otherSql)).map((r) => r.row);
        return rows.length === want.length && rows.every((r, i) => r === want[i]) ? rows : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'the replayed tables equal to the first' },
    ).catch(async () => (await table(otherSql)).map((r) => r.row));
    assert.deepEqual(got, want);
  } finally {
    await replayer.stop();
    await otherSql.end();
    await other.cleanup();
  }
}
