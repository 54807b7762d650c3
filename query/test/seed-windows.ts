// Window rows written straight into PostgreSQL for the query tests and `bench query`: each row's
// values and state come from the real aggregator over sales the caller knows, and the partition
// watermark is set as a processor would have committed it.

import type { Db } from '@sluice/shared/db/client';
import type { WindowStatus } from '@sluice/shared/db/schema';
import { sourceOffsets, windows } from '@sluice/shared/db/schema';
import { accumulate, emptyState, storeState, valuesOf } from '@sluice/shared/streams/aggregate';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { sql } from 'drizzle-orm';

export interface Sale {
  readonly category: string;
  readonly amount: number;
  readonly user: string;
  readonly time: number;
}

/** One 1-minute ecommerce window of one category. */
export interface SeededRow {
  readonly start: number;
  readonly category: string;
  readonly sales: readonly Sale[];
  readonly status: WindowStatus;
  readonly version: number;
}

const CHUNK = 1_000;

export async function writeWindows(
  db: Db,
  rows: readonly SeededRow[],
  offsets: { group: string; topic: string; watermark: number | null },
  tenant = 'default',
): Promise<void> {
  for (let at = 0; at < rows.length; at += CHUNK) {
    const values = rows.slice(at, at + CHUNK).map((r) => {
      const state = emptyState(ecommerce.aggregations);
      for (const s of r.sales)
        accumulate(state, ecommerce.aggregations, {
          amount: s.amount,
          user_id: s.user,
          product_category: s.category,
        });
      return {
        tenant,
        stream: 'ecommerce',
        window: '1m',
        windowStart: new Date(r.start),
        windowEnd: new Date(r.start + 60_000),
        key: r.category,
        values: valuesOf(state, ecommerce.aggregations),
        state: storeState(state),
        status: r.status,
        version: r.version,
        traceId: r.start.toString(16).padStart(32, '0'),
      };
    });
    await db
      .insert(windows)
      .values(values)
      .onConflictDoUpdate({
        target: [windows.tenant, windows.stream, windows.window, windows.windowStart, windows.key],
        set: {
          values: sql`excluded.values`,
          state: sql`excluded.state`,
          status: sql`excluded.status`,
          version: sql`excluded.version`,
        },
      });
  }
  const { group, topic, watermark } = offsets;
  await db
    .insert(sourceOffsets)
    .values({ consumerGroup: group, topic, partition: 0, nextOffset: 1n, epoch: 1, watermark })
    .onConflictDoUpdate({
      target: [sourceOffsets.consumerGroup, sourceOffsets.topic, sourceOffsets.partition],
      set: { watermark },
    });
}
