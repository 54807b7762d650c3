// ./sluice windows: the window table's day partitions (shared/src/db/window-partitions.ts) by hand.
// `maintain` runs one round of what every processor does on its timer (make the days ahead, move
// rows out of the default, drop the days past every stream's window retention, delete a shorter-
// lived stream's older rows) and prints what it did; `list` prints each partition and its rows.
// For an operator whose processors are stopped, or who wants retention applied now.

import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { maintainWindowPartitions } from '@sluice/shared/db/window-partitions';
import { sql } from 'drizzle-orm';
import { exitWithUsage, parseCliArgs } from './cli-args.ts';

const USAGE = `./sluice windows maintain [--ahead-days N]
       ./sluice windows list`;

const { values, positionals } = parseCliArgs(
  { allowPositionals: true, options: { 'ahead-days': { type: 'string' } } },
  USAGE,
);
const [command] = positionals;
if (command !== 'maintain' && command !== 'list') exitWithUsage(USAGE, 'maintain or list?');
const aheadDays = Number(values['ahead-days'] ?? 7);
if (!Number.isInteger(aheadDays) || aheadDays < 1 || aheadDays > 90)
  exitWithUsage(USAGE, '--ahead-days: a whole number from 1 to 90');

const db = createDb({
  url: process.env.SLUICE_DATABASE_URL ?? 'postgres://sluice:sluice@127.0.0.1:5432/sluice',
  maxConnections: 2,
  applicationName: 'sluice-windows',
});
try {
  await applyMigrations(db.db);
  if (command === 'maintain') {
    const result = await maintainWindowPartitions(db.db, { now: Date.now(), aheadDays });
    if (!result.ok) {
      console.error(result.error.message);
      process.exitCode = 1;
    } else if (!result.value.ran) {
      console.log('another worker is maintaining the partitions now; nothing done');
    } else {
      const r = result.value;
      console.log(`created ${r.created.length}${r.created.length > 0 ? ` (${r.created.join(', ')})` : ''}`);
      console.log(`moved ${r.moved} row(s) out of the default partition`);
      console.log(`dropped ${r.dropped.length}${r.dropped.length > 0 ? ` (${r.dropped.join(', ')})` : ''}`);
      console.log(`deleted ${r.deleted} row(s) past their stream's retention`);
    }
  } else {
    const rows = await db.db.execute<{ name: string; bound: string; rows: string }>(sql`
      select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound, coalesce(s.n_live_tup, 0)::text as rows
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      left join pg_stat_user_tables s on s.relid = c.oid
      where i.inhparent = 'windows'::regclass order by c.relname`);
    for (const r of rows) console.log(`${r.name.padEnd(20)} ~${r.rows.padStart(9)} rows  ${r.bound}`);
  }
} finally {
  await db.close();
}
