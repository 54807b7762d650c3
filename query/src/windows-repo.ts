// Reads window rows and watermarks from PostgreSQL (parameterised SQL only, tenant always bound).

import type { Db } from '@sluice/shared/db/client';
import type { StoredWindow, StoredWindowRow } from '@sluice/shared/db/window-rows';
import { atEpochMs, epochMs, fromStoredRow } from '@sluice/shared/db/window-rows';
import type { AggSpec } from '@sluice/shared/streams/define';
import { sql } from 'drizzle-orm';

/** A read of a declared window's rows of one tenant and stream whose windows start in [from, to). */
export interface WindowsQuery {
  readonly tenant: string;
  readonly stream: string;
  readonly window: string;
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  /**
   * The accumulator entries a reader merges (null: none, the rows' `values` are the answer). A
   * sketch is kilobytes per row, so leaving out what is not merged is most of a read's cost.
   */
  readonly stateOf: readonly AggSpec[] | null;
  /** Every aggregation of the stream (the sketches among them not in `stateOf` are left out). */
  readonly allAggs: readonly AggSpec[];
  /**
   * The stream's watermark read before this read, if the caller has it: windows starting before
   * it whose rows are not provisional are final (bucket-rows.ts keeps such hours).
   */
  readonly settledBefore?: number | null;
}

export interface WindowsRepo {
  windows(q: WindowsQuery): Promise<StoredWindow[]>;
  /** The lowest partition watermark of a topic: every window ending before it is complete. */
  watermark(group: string, topic: string): Promise<number | null>;
  /** Each partition's watermark and next offset, as the processors last committed them. */
  partitions(
    group: string,
    topic: string,
  ): Promise<{ partition: number; watermark: number | null; nextOffset: number | null }[]>;
}

/** The state keys of sketch aggregations not in `kept` (removed from the row's jsonb in SQL). */
function sketchesBut(kept: readonly AggSpec[], all: readonly AggSpec[]): string {
  const names = all
    .filter((a) => (a.fn === 'distinct' || a.fn === 'quantiles') && !kept.includes(a))
    .map((a) => `"${a.name.replace(/["\\]/g, '')}"`);
  return `{${names.join(',')}}`;
}

export function createWindowsRepo(db: Db): WindowsRepo {
  return {
    async windows(q) {
      const state =
        q.stateOf === null ? sql`'{}'::jsonb` : sql`(w.state - ${sketchesBut(q.stateOf, q.allAggs)}::text[])`;
      const rows = await db.execute<StoredWindowRow>(sql`
        select w.tenant, w."window", ${epochMs(sql`w.window_start`)} as start_ms,
          ${epochMs(sql`w.window_end`)} as end_ms, w.key, w.values, ${state} as state, w.status, w.version,
          w.trace_id
        from windows w
        where w.tenant = ${q.tenant} and w.stream = ${q.stream} and w."window" = ${q.window}
          and w.window_start >= ${atEpochMs(q.from)} and w.window_start < ${atEpochMs(q.to)}
        order by w.window_start, w.key
        limit ${q.limit}`);
      return rows.map(fromStoredRow);
    },
    async watermark(group, topic) {
      const rows = await db.execute<{ watermark: string | null }>(sql`
        select min(watermark)::text as watermark from source_offsets
        where consumer_group = ${group} and topic = ${topic}`);
      const value = rows[0]?.watermark;
      return value === null || value === undefined ? null : Number(value);
    },
    async partitions(group, topic) {
      const rows = await db.execute<{
        partition: number;
        watermark: string | null;
        next_offset: string | null;
      }>(sql`
        select partition, watermark::text as watermark, next_offset::text as next_offset from source_offsets
        where consumer_group = ${group} and topic = ${topic} order by partition`);
      const num = (v: string | null) => (v === null ? null : Number(v));
      return rows.map((r) => ({
        partition: r.partition,
        watermark: num(r.watermark),
        nextOffset: num(r.next_offset),
      }));
    },
  };
}
