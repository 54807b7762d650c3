// Where window rows are written. One PostgreSQL transaction holds the rows a batch changed and the
// offset they reflect, so a crash at any point leaves both or neither (guarantee 2).

import type { Db } from '@sluice/shared/db/client';
import type { StoredWindow, StoredWindowRow } from '@sluice/shared/db/window-rows';
import {
  atEpochMs,
  fromStoredRow,
  STORED_WINDOW_COLUMNS,
  withRevivedState,
} from '@sluice/shared/db/window-rows';
import type { Result } from '@sluice/shared/result';
import { fail, ok } from '@sluice/shared/result';
import type { AggState, StoredAggState } from '@sluice/shared/streams/aggregate';
import { storeState } from '@sluice/shared/streams/aggregate';
import { sql } from 'drizzle-orm';

/**
 * A window row as a batch writes it: the stored shape plus where it comes from. Its accumulators
 * may be live (sketches as objects) or already in their stored form (as the state store keeps them).
 */
export interface WindowRowWrite extends StoredWindow<AggState | StoredAggState> {
  readonly stream: string;
  readonly partition: number;
}

export interface OffsetWrite {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** The offset this worker last read from PostgreSQL (null: none was stored). */
  readonly expected: bigint | null;
  /** The epoch this worker claimed the partition with: the fence against a zombie write. */
  readonly epoch: number;
  readonly next: bigint;
  readonly watermark: number | null;
}

export interface ClaimedPartition {
  /** Null: no batch was ever committed for this group and partition. */
  readonly nextOffset: bigint | null;
  readonly watermark: number | null;
  /** This owner's epoch: one more than any earlier owner's. */
  readonly epoch: number;
}

export type Fenced = { readonly fenced: true };

/** A window row by its identity, for rows a batch removes (sessions merged into another). */
export interface WindowRef {
  readonly tenant: string;
  readonly stream: string;
  readonly window: string;
  readonly start: number;
  readonly key: string;
}

export interface CommitOptions {
  /** Session rows merged into another: deleted in the same transaction. */
  readonly removed?: readonly WindowRef[];
  /** The trace of the batch that writes the rows (sampled batches only); kept on each row. */
  readonly traceId?: string | undefined;
}

/** Where to look for stored sessions of a key that an event at [from, to] could touch. */
export interface SessionLookup {
  readonly tenant: string;
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

export interface WindowSink {
  /**
   * Takes ownership of a partition for this group: the next epoch, and where the partition stands.
   * Every later commit of an earlier owner is refused from now on (guarantee 2: fencing).
   */
  claimPartition(group: string, topic: string, partition: number): Promise<ClaimedPartition>;
  /** Every provisional window of a partition: what a new owner must hold to settle them later. */
  readOpenWindows(stream: string, partition: number): Promise<StoredWindow<AggState>[]>;
  readWindows(
    stream: string,
    window: string,
    wanted: readonly { tenant: string; start: number; key: string }[],
  ): Promise<StoredWindow<AggState>[]>;
  /** Stored sessions of `window` that touch [from, to] (bounds inclusive), per lookup. */
  readSessions(
    stream: string,
    window: string,
    lookups: readonly SessionLookup[],
  ): Promise<StoredWindow<AggState>[]>;
  /**
   * Commits rows, removals and offset together. Fails with `fenced` when the stored offset is no
   * longer the one this worker read: another worker owns the partition now, and this write must
   * not land.
   */
  commit(
    rows: readonly WindowRowWrite[],
    offset: OffsetWrite,
    options?: CommitOptions,
  ): Promise<Result<void, Fenced>>;
}

class FencedRollback extends Error {}

/** A row read back for planning: its sketches revived, to be added to. */
const loaded = (r: StoredWindowRow) => withRevivedState(fromStoredRow(r));

export function createWindowSink(db: Db): WindowSink {
  return {
    async claimPartition(group, topic, partition) {
      const rows = await db.execute<{ next_offset: string | null; watermark: string | null; epoch: string }>(
        sql`insert into source_offsets (consumer_group, topic, partition, next_offset, watermark, epoch)
            values (${group}, ${topic}, ${partition}, null, null, 1)
            on conflict (consumer_group, topic, partition)
              do update set epoch = source_offsets.epoch + 1, updated_at = now()
            returning next_offset, watermark, epoch`,
      );
      const row = rows[0];
      if (row === undefined) throw new Error('claiming a partition returned no row');
      return {
        nextOffset: row.next_offset === null ? null : BigInt(row.next_offset),
        watermark: row.watermark === null ? null : Number(row.watermark),
        epoch: Number(row.epoch),
      };
    },

    async readOpenWindows(stream, partition) {
      const rows = await db.execute<StoredWindowRow>(sql`
        select ${STORED_WINDOW_COLUMNS} from windows w
        where w.stream = ${stream} and w.source_partition = ${partition} and w.status = 'provisional'`);
      return rows.map(loaded);
    },

    async readWindows(stream, window, wanted) {
      if (wanted.length === 0) return [];
      const rows = await db.execute<StoredWindowRow>(sql`
        select ${STORED_WINDOW_COLUMNS} from windows w
        join jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) as want(tenant text, start bigint, key text)
          on w.tenant = want.tenant and w.key = want.key and w.window_start = ${atEpochMs(sql`want.start`)}
        where w.stream = ${stream} and w."window" = ${window}`);
      return rows.map(loaded);
    },

    async readSessions(stream, window, lookups) {
      if (lookups.length === 0) return [];
      const rows = await db.execute<StoredWindowRow>(sql`
        select distinct ${STORED_WINDOW_COLUMNS} from windows w
        join jsonb_to_recordset(${JSON.stringify(lookups)}::jsonb) as want(tenant text, key text, "from" bigint, "to" bigint)
          on w.tenant = want.tenant and w.key = want.key
         and w.window_start <= ${atEpochMs(sql`want."to"`)} and w.window_end >= ${atEpochMs(sql`want."from"`)}
        where w.stream = ${stream} and w."window" = ${window}`);
      return rows.map(loaded);
    },

    async commit(rows, offset, options = {}) {
      const removed = options.removed ?? [];
      try {
        await db.transaction(async (tx) => {
          // INVARIANT (fencing): the offset moves only under the epoch this worker claimed, and only
          // from the value it read. A worker that lost the partition (a zombie: the new owner
          // claimed a later epoch) finds neither, and its whole transaction rolls back.
          const moved = await tx.execute(sql`
            update source_offsets set next_offset = ${offset.next.toString()}, watermark = ${offset.watermark},
                   updated_at = now()
            where consumer_group = ${offset.group} and topic = ${offset.topic} and partition = ${offset.partition}
              and epoch = ${offset.epoch}
              and next_offset is not distinct from ${offset.expected === null ? null : offset.expected.toString()}
            returning 1`);
          if (moved.length !== 1) throw new FencedRollback();
          // Sessions merged into another session are gone in the same transaction that writes the
          // merged one: no reader ever sees an event counted in two sessions (guarantee 2).
          if (removed.length > 0)
            await tx.execute(sql`
              delete from windows w using jsonb_to_recordset(${JSON.stringify(removed)}::jsonb)
                as gone(tenant text, stream text, "window" text, start bigint, key text)
              where w.tenant = gone.tenant and w.stream = gone.stream and w."window" = gone."window"
                and w.window_start = ${atEpochMs(sql`gone.start`)} and w.key = gone.key`);
          // Absolute values: replaying a batch writes the same row again, never adds to it.
          if (rows.length > 0) await upsertRows(tx, rows, offset.epoch, options.traceId);
        });
        return ok(undefined);
      } catch (error) {
        if (error instanceof FencedRollback) return fail({ fenced: true });
        throw error;
      }
    },
  };
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * The batch's rows as one JSON parameter, read by jsonb_to_recordset: one parameter, not 13 per
 * row, so neither the query builder nor PostgreSQL's 65,535-parameter limit grows with the batch
 * (the builder's per-parameter work was ~3 % of the worker's CPU on 1-minute windows).
 */
async function upsertRows(
  tx: Tx,
  rows: readonly WindowRowWrite[],
  epoch: number,
  traceId: string | undefined,
): Promise<void> {
  const json = JSON.stringify(
    rows.map((r) => ({
      tenant: r.tenant,
      stream: r.stream,
      window: r.window,
      start: r.start,
      end: r.end,
      key: r.key,
      values: r.values,
      state: storeState(r.state),
      status: r.status,
      version: r.version,
      partition: r.partition,
    })),
  );
  await tx.execute(sql`
    insert into windows (tenant, stream, "window", window_start, window_end, key, "values", state,
                         status, version, source_partition, source_epoch, trace_id)
    select r.tenant, r.stream, r."window", ${atEpochMs(sql`r.start`)}, ${atEpochMs(sql`r."end"`)}, r.key,
           r."values", r.state, r.status, r.version, r."partition", ${epoch}::bigint, ${traceId ?? null}::text
    from jsonb_to_recordset(${json}::jsonb) as r(tenant text, stream text, "window" text, start bigint,
         "end" bigint, key text, "values" jsonb, state jsonb, status text, version integer, "partition" integer)
    on conflict (tenant, stream, "window", window_start, key) do update set
      -- A session's end moves as events extend or merge it; other windows rewrite the same end.
      window_end = excluded.window_end,
      "values" = excluded."values",
      state = excluded.state,
      status = excluded.status,
      version = excluded.version,
      source_epoch = excluded.source_epoch,
      -- An unsampled batch keeps the trace id of the last sampled one that wrote the row.
      trace_id = coalesce(excluded.trace_id, windows.trace_id),
      updated_at = now()`);
}
