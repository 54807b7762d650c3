// Each owned partition's health for the dashboard's health row (issue 23): the log end offset its
// client last saw, the next offset committed then, the rates of both, and running counts of
// records by outcome, upserted into partition_health (shared/src/db/schema.ts).
//
// Kept off the hot path and bounded: a batch only adds its counts to a small map in memory; the
// tick writes at most once per interval, one statement for every owned partition (never one per
// batch), and skips a tick while the previous write is still in flight. A failed write keeps the
// counts for the next one. These are stream-wide operational figures (every tenant's records share
// the topic): the query service shows them to an operator's key only, never as a tenant's.
//
// Whose row it is: only the partition's owner replaces its offsets and rates and moves updated_at
// (what "reporting" means to the reader); a departing owner's counts-only row adds its counts and
// leaves the new owner's figures alone. Rows of partitions nobody has reported for RETAIN_DAYS go:
// one delete on the first tick after start and at most hourly after (a topic or group gone for
// good leaves no rows behind for ever).

import type { Db } from '@sluice/shared/db/client';
import type { Logger } from '@sluice/shared/log';
import { sql } from 'drizzle-orm';

export interface OutcomeCounts {
  readonly processed: number;
  readonly late: number;
  readonly dlq: number;
  readonly rejected: number;
}

export interface OwnedPartition {
  readonly topic: string;
  readonly partition: number;
  /** The committed next offset (null: nothing committed yet). */
  readonly nextOffset: bigint | null;
}

export interface PartitionHealthReporter {
  /** A commit landed: its counts go into the next write (never before the commit: no batch counts twice). */
  counted(topic: string, partition: number, counts: OutcomeCounts): void;
  /** The partition left this worker: its rates start afresh should it come back. */
  forget(topic: string, partition: number): void;
  /**
   * Writes the owned partitions' rows once the interval has passed since the last write (and
   * prunes old rows when that is due).
   */
  report(
    owned: Iterable<OwnedPartition>,
    endOffset: (topic: string, partition: number) => bigint | undefined,
  ): Promise<void>;
}

/** One partition's row as one write sends it (numbers, JSON-safe). */
export interface HealthRow {
  readonly topic: string;
  readonly partition: number;
  readonly end: number | null;
  readonly next: number | null;
  readonly inPerSecond: number | null;
  readonly processedPerSecond: number | null;
  readonly processed: number;
  readonly late: number;
  readonly dlq: number;
  readonly rejected: number;
  /** The partition is this worker's: its offsets, rates and updated_at are the row's news. */
  readonly owner: boolean;
}

/**
 * Where the rows go: one upsert of all of them. Counts are added; offsets and rates are replaced
 * only by a value (a null keeps the row's), and updated_at moves only for an owner's row.
 */
export type HealthWrite = (group: string, rows: readonly HealthRow[]) => Promise<void>;

/** Deletes the rows not updated for RETAIN_DAYS (one statement); resolves to how many went. */
export type HealthPrune = () => Promise<number>;

/** A row nobody has reported for this long is a partition, topic or group gone: deleted. */
export const RETAIN_DAYS = 7;
/** The prune runs on the first tick after start, then at most this often. */
export const PRUNE_EVERY_MS = 3_600_000;

export function healthWriteTo(db: Db): HealthWrite {
  return async (group, rows) => {
    if (rows.length === 0) return;
    await db.execute(sql`
      insert into partition_health as h (consumer_group, topic, partition, end_offset, next_offset,
        in_per_second, processed_per_second, processed, late, dlq, rejected, updated_at)
      select ${group}, r.topic, r."partition", r."end", r."next", r."inPerSecond", r."processedPerSecond",
             r.processed, r.late, r.dlq, r.rejected,
             -- A counts-only first row is not a report: stale from the start, not fresh.
             case when r."owner" then now() else now() - interval '1 hour' end
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(topic text, "partition" integer,
           "end" bigint, "next" bigint, "inPerSecond" double precision, "processedPerSecond" double precision,
           processed bigint, late bigint, dlq bigint, rejected bigint, "owner" boolean)
      on conflict (consumer_group, topic, partition) do update set
        end_offset = coalesce(excluded.end_offset, h.end_offset),
        next_offset = coalesce(excluded.next_offset, h.next_offset),
        in_per_second = coalesce(excluded.in_per_second, h.in_per_second),
        processed_per_second = coalesce(excluded.processed_per_second, h.processed_per_second),
        processed = h.processed + excluded.processed,
        late = h.late + excluded.late,
        dlq = h.dlq + excluded.dlq,
        rejected = h.rejected + excluded.rejected,
        -- An owner's row carries now() (to the column's ms), a counts-only row an hour before it:
        -- only the owner moves the time that says the partition is reporting.
        updated_at = case when excluded.updated_at > now() - interval '1 minute' then excluded.updated_at
                          else h.updated_at end`);
  };
}

export function healthPruneTo(db: Db): HealthPrune {
  return async () => {
    const deleted = await db.execute<{ n: number }>(sql`
      with gone as (
        delete from partition_health where updated_at < now() - make_interval(days => ${RETAIN_DAYS})
        returning 1)
      select count(*)::int as n from gone`);
    return deleted[0]?.n ?? 0;
  };
}

/** A partition's offsets at one write (each may be unknown: its rate then starts at the next). */
interface Sample {
  readonly end: bigint | undefined;
  readonly next: bigint | undefined;
  readonly at: number;
}

const ZERO: OutcomeCounts = { processed: 0, late: 0, dlq: 0, rejected: 0 };
const add = (a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts => ({
  processed: a.processed + b.processed,
  late: a.late + b.late,
  dlq: a.dlq + b.dlq,
  rejected: a.rejected + b.rejected,
});

export function createPartitionHealthReporter(options: {
  readonly write: HealthWrite;
  readonly group: string;
  readonly intervalMs: number;
  readonly now: () => number;
  readonly log: Logger;
  /** Deletes long-unreported rows: on the first report after start, then every pruneEveryMs. */
  readonly prune?: HealthPrune;
  /** Default PRUNE_EVERY_MS (an hour). */
  readonly pruneEveryMs?: number;
}): PartitionHealthReporter {
  const key = (topic: string, partition: number) => `${topic}:${partition}`;
  /** Counts committed since the last write that landed, by partition. */
  const pending = new Map<string, { topic: string; partition: number; counts: OutcomeCounts }>();
  const samples = new Map<string, Sample>();
  let lastWrite = Number.NEGATIVE_INFINITY;
  let writing = false;
  let failedOnce = false;
  let lastPrune = Number.NEGATIVE_INFINITY;
  let pruning = false;
  const pruneEveryMs = options.pruneEveryMs ?? PRUNE_EVERY_MS;
  /** One delete at most per pruneEveryMs, and never two at once; a failure waits for the next. */
  const pruneIfDue = async (at: number, prune: HealthPrune) => {
    if (pruning || at - lastPrune < pruneEveryMs) return;
    pruning = true;
    lastPrune = at;
    try {
      const deleted = await prune();
      if (deleted > 0)
        options.log.info(
          { deleted, retainDays: RETAIN_DAYS },
          'deleted long-unreported partition health rows',
        );
    } catch (error) {
      options.log.warn({ err: error }, 'deleting old partition health rows failed; will retry');
    } finally {
      pruning = false;
    }
  };
  const perSecond = (now: bigint, before: bigint | undefined, seconds: number) =>
    before === undefined || seconds <= 0 || now < before ? null : Number(now - before) / seconds;

  return {
    counted(topic, partition, counts) {
      const k = key(topic, partition);
      const entry = pending.get(k);
      pending.set(k, { topic, partition, counts: add(entry?.counts ?? ZERO, counts) });
    },
    forget(topic, partition) {
      samples.delete(key(topic, partition));
    },
    async report(owned, endOffset) {
      const at = options.now();
      const pruned = options.prune === undefined ? undefined : pruneIfDue(at, options.prune);
      await write(at, owned, endOffset);
      await pruned;
    },
  };

  async function write(
    at: number,
    owned: Iterable<OwnedPartition>,
    endOffset: (topic: string, partition: number) => bigint | undefined,
  ) {
    if (writing || at - lastWrite < options.intervalMs) return;
    writing = true;
    lastWrite = at;
    const rows: HealthRow[] = [];
    const taken = new Map(pending);
    pending.clear();
    const seen = new Set<string>();
    for (const p of owned) {
      const k = key(p.topic, p.partition);
      seen.add(k);
      const end = endOffset(p.topic, p.partition);
      const before = samples.get(k);
      const seconds = before === undefined ? 0 : (at - before.at) / 1000;
      samples.set(k, { end, next: p.nextOffset ?? undefined, at });
      const counts = taken.get(k)?.counts ?? ZERO;
      rows.push({
        topic: p.topic,
        partition: p.partition,
        end: end === undefined ? null : Number(end),
        next: p.nextOffset === null ? null : Number(p.nextOffset),
        inPerSecond: end === undefined ? null : perSecond(end, before?.end, seconds),
        processedPerSecond: p.nextOffset === null ? null : perSecond(p.nextOffset, before?.next, seconds),
        ...counts,
        owner: true,
      });
    }
    // Counts of a partition that moved away since its commit still land (its row keeps its offsets).
    for (const [k, entry] of taken)
      if (!seen.has(k))
        rows.push({
          topic: entry.topic,
          partition: entry.partition,
          end: null,
          next: null,
          inPerSecond: null,
          processedPerSecond: null,
          ...entry.counts,
          owner: false,
        });
    try {
      await options.write(options.group, rows);
      failedOnce = false;
    } catch (error) {
      // Kept for the next write; one line per run of failures, not one per tick.
      for (const [k, entry] of taken) {
        const now = pending.get(k);
        pending.set(k, { ...entry, counts: add(entry.counts, now?.counts ?? ZERO) });
      }
      if (!failedOnce) options.log.warn({ err: error }, 'writing partition health failed; will retry');
      failedOnce = true;
    } finally {
      writing = false;
    }
  }
}
