// The window table's time partitions (migration 0008): one partition a UTC day of window_start,
// `windows_pYYYYMMDD`, and `windows_default` for any day without one, so a write never fails for
// want of a partition. Maintenance (the processor on a timer, or `./sluice windows maintain`):
//   1. creates the days from yesterday to `aheadDays` ahead, and the days rows in the default fall
//      on (a late replay or an amendment of an older day lands there first), moving those rows in;
//   2. drops the days that ended before the longest window retention of any stream (dropping a
//      partition is instant and leaves no dead rows, unlike DELETE);
//   3. deletes the rows of a stream whose own retention is shorter than that, and the default's
//      rows past retention.
// Retention is per stream (`windowRetention` in its definition, recorded in stream_retention by
// every processor that runs it), so one processor never drops another's longer-kept windows.
// Guarantee kept: maintenance never removes a row within its stream's retention, and a row written
// for any day lands (in its day's partition or the default).

import { sql } from 'drizzle-orm';
import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { Db } from './client.ts';

export const DAY_MS = 86_400_000;
const PARTITION_NAME = /^windows_p(\d{4})(\d{2})(\d{2})$/;
/** One maintenance at a time across a fleet (pg_try_advisory_xact_lock's key). */
const MAINTENANCE_LOCK = 0x51_1ce_0001;

/** The partition holding window starts of the UTC day that `ms` falls in. */
export function partitionName(ms: number): string {
  const day = new Date(dayStart(ms)).toISOString().slice(0, 10).replaceAll('-', '');
  return `windows_p${day}`;
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** The first instant of a partition's day, or null for a table that is not a day partition. */
export function partitionDay(name: string): number | null {
  const m = PARTITION_NAME.exec(name);
  if (m === null) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return partitionName(ms) === name ? ms : null;
}

export interface StreamRetention {
  readonly stream: string;
  /** Null: the stream keeps its windows for good. */
  readonly windowRetentionMs: number | null;
}

/** Records the retention a processor runs its streams with (the latest start's word wins). */
export async function recordRetention(db: Db, streams: readonly StreamRetention[]): Promise<void> {
  for (const s of streams)
    await db.execute(sql`
      insert into stream_retention (stream, window_retention_ms) values (${s.stream}, ${s.windowRetentionMs})
      on conflict (stream) do update set window_retention_ms = excluded.window_retention_ms, updated_at = now()`);
}

export interface MaintenanceOptions {
  readonly now: number;
  /** Days created ahead of today, so the day boundary never sends rows to the default. */
  readonly aheadDays: number;
  /** How long maintenance waits for a table lock before it gives up until its next round. */
  readonly lockTimeoutMs?: number;
}

export interface MaintenanceReport {
  /** False when another worker held the maintenance lock: nothing was done this round. */
  readonly ran: boolean;
  readonly created: readonly string[];
  /** Rows moved out of the default partition into their day's new partition. */
  readonly moved: number;
  readonly dropped: readonly string[];
  /** Rows deleted one by one: a shorter-lived stream's, and the default's past retention. */
  readonly deleted: number;
}

export async function maintainWindowPartitions(
  db: Db,
  options: MaintenanceOptions,
): Promise<Result<MaintenanceReport, AppError>> {
  try {
    return ok(await maintain(db, options));
  } catch (error) {
    // A lock timeout or a lost connection: the next round tries again, nothing is half done (each
    // step is one transaction).
    return fail(
      appError('unavailable', `window partition maintenance failed: ${causeOf(error)}`, { cause: error }),
    );
  }
}

async function maintain(db: Db, options: MaintenanceOptions): Promise<MaintenanceReport> {
  const lockTimeout = `${Math.max(1, Math.round(options.lockTimeoutMs ?? 5_000))}ms`;
  const today = dayStart(options.now);
  const first = await db.transaction(async (tx) => {
    const [lock] = await tx.execute<{ locked: boolean }>(
      sql`select pg_try_advisory_xact_lock(${MAINTENANCE_LOCK}) as locked`,
    );
    if (lock?.locked !== true) return null;
    await tx.execute(sql`select set_config('lock_timeout', ${lockTimeout}, true)`);
    const recorded = await tx.execute<{ stream: string; ms: string | null }>(
      sql`select stream, window_retention_ms::text as ms from stream_retention`,
    );
    const retentions = recorded.flatMap((r) =>
      r.ms === null ? [] : [{ stream: r.stream, ms: Number(r.ms) }],
    );
    // A day is dropped whole only when no stream keeps it: none recorded, or one that keeps its
    // windows for good, and nothing is known to be expired.
    const forGood = recorded.length === 0 || retentions.length < recorded.length;
    const longest = retentions.reduce((m, r) => Math.max(m, r.ms), 0);
    const cutoff = forGood ? Number.NEGATIVE_INFINITY : options.now - longest;
    const existing = new Set(
      (
        await tx.execute<{ name: string }>(sql`
          select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'windows'::regclass`)
      ).map((r) => r.name),
    );
    const wanted = new Set<number>();
    for (let d = -1; d <= options.aheadDays; d += 1) wanted.add(today + d * DAY_MS);
    const defaultDays = await tx.execute<{ day: string }>(sql`
      select distinct (floor(extract(epoch from window_start) / 86400) * 86400000)::bigint::text as day
      from windows_default`);
    for (const { day } of defaultDays) {
      const ms = Number(day);
      // Past retention stays for step 3; beyond the days made ahead waits for its turn.
      if (ms + DAY_MS > cutoff && ms <= today + options.aheadDays * DAY_MS) wanted.add(ms);
    }
    const created: string[] = [];
    let moved = 0;
    for (const day of [...wanted].sort((a, b) => a - b)) {
      const name = partitionName(day);
      if (existing.has(name) || day + DAY_MS <= cutoff) continue;
      moved += await createDay(tx, name, day);
      created.push(name);
    }
    const dropped: string[] = [];
    for (const name of existing) {
      const day = partitionDay(name);
      if (day === null || day + DAY_MS > cutoff) continue;
      await tx.execute(sql.raw(`drop table "${name}"`));
      dropped.push(name);
    }
    return { created, moved, dropped, retentions };
  });
  if (first === null) return { ran: false, created: [], moved: 0, dropped: [], deleted: 0 };
  // Step 3, row by row, in its own transaction so the table locks of steps 1 and 2 are already
  // released: each stream's rows past its own retention (pruned to the days before its cutoff).
  let deleted = 0;
  for (const r of first.retentions) {
    const cutoff = new Date(options.now - r.ms).toISOString();
    const rows = await db.execute<{ n: string }>(sql`
      with gone as (
        delete from windows where stream = ${r.stream} and window_start < ${cutoff}::timestamptz returning 1
      )
      select count(*)::text as n from gone`);
    deleted += Number(rows[0]?.n ?? 0);
  }
  return { ran: true, created: first.created, moved: first.moved, dropped: first.dropped, deleted };
}

/** drizzle wraps the driver's error ("Failed query: ..."); the driver's own message says why. */
function causeOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Makes one day's partition. Rows of that day already in the default move in within the same
 * transaction (PostgreSQL refuses a partition whose range the default still holds rows of).
 */
async function createDay(tx: Tx, name: string, day: number): Promise<number> {
  const from = new Date(day).toISOString();
  const to = new Date(day + DAY_MS).toISOString();
  await tx.execute(sql.raw(`create table "${name}" (like windows including defaults including constraints)`));
  const moved = await tx.execute<{ n: string }>(sql`
    with gone as (
      delete from windows_default where window_start >= ${from}::timestamptz and window_start < ${to}::timestamptz
      returning *
    ), put as (insert into ${sql.raw(`"${name}"`)} select * from gone returning 1)
    select count(*)::text as n from put`);
  await tx.execute(
    sql.raw(`alter table windows attach partition "${name}" for values from ('${from}') to ('${to}')`),
  );
  return Number(moved[0]?.n ?? 0);
}
