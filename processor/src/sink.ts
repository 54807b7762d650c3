// Where window rows are written. One PostgreSQL transaction holds the rows a batch changed and the
// offset they reflect, so a crash at any point leaves both or neither (guarantee 2).

import type { Db } from '@sluice/shared/db/client';
import { windows } from '@sluice/shared/db/schema';
import type { StoredWindow, StoredWindowRow } from '@sluice/shared/db/window-rows';
import { atEpochMs, fromStoredRow, STORED_WINDOW_COLUMNS } from '@sluice/shared/db/window-rows';
import type { Result } from '@sluice/shared/result';
import { fail, ok } from '@sluice/shared/result';
import { storeState } from '@sluice/shared/streams/aggregate';
import { sql } from 'drizzle-orm';

/** A window row as a batch writes it: the stored shape plus where it comes from. */
export interface WindowRowWrite extends StoredWindow {
  readonly stream: string;
  readonly partition: number;
}

export interface OffsetWrite {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** The offset this worker last read from PostgreSQL (null: none was stored). */
  readonly expected: bigint | null;
  readonly next: bigint;
  readonly watermark: number | null;
}

export interface StoredOffset {
  readonly nextOffset: bigint;
  readonly watermark: number | null;
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

/** Where to look for stored sessions of a key that an event at [from, to] could touch. */
export interface SessionLookup {
  readonly tenant: string;
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

export interface WindowSink {
  readOffset(group: string, topic: string, partition: number): Promise<StoredOffset | null>;
  /** Every provisional window of a partition: what a new owner must hold to settle them later. */
  readOpenWindows(stream: string, partition: number): Promise<StoredWindow[]>;
  readWindows(
    stream: string,
    window: string,
    wanted: readonly { tenant: string; start: number; key: string }[],
  ): Promise<StoredWindow[]>;
  /** Stored sessions of `window` that touch [from, to] (bounds inclusive), per lookup. */
  readSessions(stream: string, window: string, lookups: readonly SessionLookup[]): Promise<StoredWindow[]>;
  /**
   * Commits rows, removals and offset together. Fails with `fenced` when the stored offset is no
   * longer the one this worker read: another worker owns the partition now, and this write must
   * not land.
   */
  commit(
    rows: readonly WindowRowWrite[],
    offset: OffsetWrite,
    removed?: readonly WindowRef[],
  ): Promise<Result<void, Fenced>>;
}

class FencedRollback extends Error {}

export function createWindowSink(db: Db): WindowSink {
  return {
    async readOffset(group, topic, partition) {
      const rows = await db.execute<{ next_offset: string; watermark: string | null }>(
        sql`select next_offset, watermark from source_offsets
            where consumer_group = ${group} and topic = ${topic} and partition = ${partition}`,
      );
      const row = rows[0];
      if (row === undefined) return null;
      return {
        nextOffset: BigInt(row.next_offset),
        watermark: row.watermark === null ? null : Number(row.watermark),
      };
    },

    async readOpenWindows(stream, partition) {
      const rows = await db.execute<StoredWindowRow>(sql`
        select ${STORED_WINDOW_COLUMNS} from windows w
        where w.stream = ${stream} and w.source_partition = ${partition} and w.status = 'provisional'`);
      return rows.map(fromStoredRow);
    },

    async readWindows(stream, window, wanted) {
      if (wanted.length === 0) return [];
      const rows = await db.execute<StoredWindowRow>(sql`
        select ${STORED_WINDOW_COLUMNS} from windows w
        join jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) as want(tenant text, start bigint, key text)
          on w.tenant = want.tenant and w.key = want.key and w.window_start = ${atEpochMs(sql`want.start`)}
        where w.stream = ${stream} and w."window" = ${window}`);
      return rows.map(fromStoredRow);
    },

    async readSessions(stream, window, lookups) {
      if (lookups.length === 0) return [];
      const rows = await db.execute<StoredWindowRow>(sql`
        select distinct ${STORED_WINDOW_COLUMNS} from windows w
        join jsonb_to_recordset(${JSON.stringify(lookups)}::jsonb) as want(tenant text, key text, "from" bigint, "to" bigint)
          on w.tenant = want.tenant and w.key = want.key
         and w.window_start <= ${atEpochMs(sql`want."to"`)} and w.window_end >= ${atEpochMs(sql`want."from"`)}
        where w.stream = ${stream} and w."window" = ${window}`);
      return rows.map(fromStoredRow);
    },

    async commit(rows, offset, removed = []) {
      try {
        await db.transaction(async (tx) => {
          // INVARIANT (fencing): the offset moves only from the value this worker read. A worker
          // that lost the partition finds another value and its whole transaction rolls back.
          const moved =
            offset.expected === null
              ? await tx.execute(sql`
                  insert into source_offsets (consumer_group, topic, partition, next_offset, watermark)
                  values (${offset.group}, ${offset.topic}, ${offset.partition}, ${offset.next.toString()}, ${offset.watermark})
                  on conflict do nothing returning 1`)
              : await tx.execute(sql`
                  update source_offsets set next_offset = ${offset.next.toString()}, watermark = ${offset.watermark},
                         updated_at = now()
                  where consumer_group = ${offset.group} and topic = ${offset.topic} and partition = ${offset.partition}
                    and next_offset = ${offset.expected.toString()}
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
          if (rows.length === 0) return;
          // Absolute values: replaying a batch writes the same row again, never adds to it.
          await tx
            .insert(windows)
            .values(
              rows.map((r) => ({
                tenant: r.tenant,
                stream: r.stream,
                window: r.window,
                windowStart: new Date(r.start),
                windowEnd: new Date(r.end),
                key: r.key,
                values: r.values,
                state: storeState(r.state),
                status: r.status,
                version: r.version,
                sourcePartition: r.partition,
              })),
            )
            .onConflictDoUpdate({
              target: [windows.tenant, windows.stream, windows.window, windows.windowStart, windows.key],
              set: {
                // A session's end moves as events extend or merge it; other windows rewrite the same end.
                windowEnd: sql`excluded.window_end`,
                values: sql`excluded.values`,
                state: sql`excluded.state`,
                status: sql`excluded.status`,
                version: sql`excluded.version`,
                updatedAt: sql`now()`,
              },
            });
        });
        return ok(undefined);
      } catch (error) {
        if (error instanceof FencedRollback) return fail({ fenced: true });
        throw error;
      }
    },
  };
}
