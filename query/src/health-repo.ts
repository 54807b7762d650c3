// The reads behind GET /v1/streams/{stream}/health (parameterised SQL only). Two kinds of figure,
// kept apart on purpose:
// - per stream (operational, every tenant's records alike): the partition_health rows the
//   processors write on a timer (processor/src/health/partition-health.ts) and their committed watermarks;
// - per tenant: the tenant's own window rows (tenant always bound), never another tenant's.

import type { Db } from '@sluice/shared/db/client';
import { atEpochMs, epochMs } from '@sluice/shared/db/window-rows';
import { sql } from 'drizzle-orm';

/** One partition as its owner last reported it (stream-wide, no tenant's data). */
export interface PartitionHealth {
  readonly partition: number;
  readonly endOffset: number | null;
  readonly nextOffset: number | null;
  readonly inPerSecond: number | null;
  readonly processedPerSecond: number | null;
  readonly processed: number;
  readonly late: number;
  readonly dlq: number;
  readonly rejected: number;
  readonly updatedAt: number;
}

/** What a tenant's windows of one tumbling window hold since `from` (per tenant). */
export interface TenantActivity {
  /** Events aggregated (the stream's count), summed over the tenant's windows. */
  readonly events: number;
  /** Events counted as breaking a data-quality rule (null: the stream has no rules). */
  readonly rejected: number | null;
  /** Events that passed the rules (null: the stream has no rules). */
  readonly passed: number | null;
}

export interface HealthRepo {
  partitions(group: string, topic: string): Promise<PartitionHealth[]>;
  tenantActivity(q: {
    tenant: string;
    stream: string;
    window: string;
    from: number;
    /** The value name of the stream's count aggregation. */
    countName: string;
    /** The quality aggregation's name (its state keeps `<name>:passed`), if the stream has rules. */
    qualityName: string | null;
  }): Promise<TenantActivity>;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

export function createHealthRepo(db: Db): HealthRepo {
  return {
    async partitions(group, topic) {
      const rows = await db.execute<{
        partition: number;
        end_offset: string | null;
        next_offset: string | null;
        in_per_second: number | null;
        processed_per_second: number | null;
        processed: string;
        late: string;
        dlq: string;
        rejected: string;
        updated_ms: string;
      }>(sql`
        select partition, end_offset::text as end_offset, next_offset::text as next_offset, in_per_second,
          processed_per_second, processed::text as processed, late::text as late, dlq::text as dlq,
          rejected::text as rejected, ${epochMs(sql`updated_at`)}::text as updated_ms
        from partition_health where consumer_group = ${group} and topic = ${topic} order by partition`);
      return rows.map((r) => ({
        partition: r.partition,
        endOffset: num(r.end_offset),
        nextOffset: num(r.next_offset),
        inPerSecond: r.in_per_second,
        processedPerSecond: r.processed_per_second,
        processed: Number(r.processed),
        late: Number(r.late),
        dlq: Number(r.dlq),
        rejected: Number(r.rejected),
        updatedAt: Number(r.updated_ms),
      }));
    },
    async tenantActivity(q) {
      // Bounded: one tenant's rows of one window over a few window lengths (the primary key's
      // prefix tenant, stream, window, window_start serves it).
      const rows = await db.execute<{
        events: string | null;
        passed: string | null;
        rejected: string | null;
      }>(
        sql`
        select sum((w."values"->>${q.countName})::float8)::text as events,
          sum((w.state->>${`${q.qualityName ?? ''}:passed`})::float8)::text as passed,
          sum((w."values"->>'rejected')::float8)::text as rejected
        from windows w
        where w.tenant = ${q.tenant} and w.stream = ${q.stream} and w."window" = ${q.window}
          and w.window_start >= ${atEpochMs(q.from)}`,
      );
      const row = rows[0];
      const quality = q.qualityName !== null;
      return {
        events: Number(row?.events ?? 0),
        rejected: quality ? Number(row?.rejected ?? 0) : null,
        passed: quality ? Number(row?.passed ?? 0) : null,
      };
    },
  };
}
