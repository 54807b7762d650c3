// Reads window rows and watermarks from PostgreSQL (parameterised SQL only, tenant always bound).

import type { Db } from '@sluice/shared/db/client';
import type { WindowStatus } from '@sluice/shared/db/schema';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { sql } from 'drizzle-orm';

export interface StoredWindowRow {
  readonly start: number;
  readonly end: number;
  readonly key: string;
  readonly values: Record<string, number | null>;
  readonly state: AggState;
  readonly status: WindowStatus;
  readonly version: number;
}

export interface WindowsRepo {
  windows(q: {
    tenant: string;
    stream: string;
    window: string;
    from: number;
    to: number;
    limit: number;
  }): Promise<StoredWindowRow[]>;
  /** The lowest partition watermark of a topic: every window ending before it is complete. */
  watermark(group: string, topic: string): Promise<number | null>;
}

type Row = {
  start_ms: string;
  end_ms: string;
  key: string;
  values: Record<string, number | null>;
  state: AggState;
  status: WindowStatus;
  version: number;
};

export function createWindowsRepo(db: Db): WindowsRepo {
  return {
    async windows(q) {
      const rows = await db.execute<Row>(sql`
        select (extract(epoch from window_start) * 1000)::bigint as start_ms,
               (extract(epoch from window_end) * 1000)::bigint as end_ms,
               key, values, state, status, version
        from windows
        where tenant = ${q.tenant} and stream = ${q.stream} and "window" = ${q.window}
          and window_start >= 'epoch'::timestamptz + ${q.from} * interval '1 millisecond'
          and window_start < 'epoch'::timestamptz + ${q.to} * interval '1 millisecond'
        order by window_start, key
        limit ${q.limit}`);
      return rows.map((r) => ({
        start: Number(r.start_ms),
        end: Number(r.end_ms),
        key: r.key,
        values: r.values,
        state: r.state,
        status: r.status,
        version: r.version,
      }));
    },
    async watermark(group, topic) {
      const rows = await db.execute<{ watermark: string | null }>(sql`
        select min(watermark)::text as watermark from source_offsets
        where consumer_group = ${group} and topic = ${topic}`);
      const value = rows[0]?.watermark;
      return value === null || value === undefined ? null : Number(value);
    },
  };
}
