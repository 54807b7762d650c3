// The PostgreSQL tables of record. Windows are written by the processor and read by the query API;
// source offsets are the Kafka positions a committed window state reflects.

import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import type { StoredAggState } from '../streams/aggregate.ts';

export const WINDOW_STATUSES = ['provisional', 'settled', 'amended'] as const;
export type WindowStatus = (typeof WINDOW_STATUSES)[number];

/**
 * One row per (tenant, stream, window, key): aggregate values are absolute, never increments,
 * so replaying the same input rewrites identical rows (guarantee 2).
 *
 * Partitioned by range of `window_start`, one partition a UTC day (`windows_pYYYYMMDD`) and a
 * default partition for a day that has none yet (migration 0008, written by hand: drizzle-kit does
 * not express PARTITION BY). The processor creates days ahead, moves rows out of the default and
 * drops days past every stream's window retention (src/db/window-partitions.ts). The primary key
 * holds `window_start`, as PostgreSQL asks of a unique key on a partitioned table.
 */
export const windows = pgTable(
  'windows',
  {
    tenant: text('tenant').notNull().default('default'),
    stream: text('stream').notNull(),
    /** The declared window's name, for example `1m` or `5m/1m` or `session:30s`. */
    window: text('window').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true, precision: 3 }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true, precision: 3 }).notNull(),
    /** The group-by key, rendered as text (the Kafka key of the events it aggregates). */
    key: text('key').notNull(),
    values: jsonb('values').$type<Record<string, number | null>>().notNull(),
    /**
     * Mergeable accumulators behind `values` (sums in scaled units, counts, sketches), so state can
     * be rebuilt from this row and finer windows roll up into coarser ones.
     */
    state: jsonb('state').$type<StoredAggState>().notNull().default({}),
    status: text('status', { enum: WINDOW_STATUSES }).notNull().default('provisional'),
    /** Kafka partition of the events (one key, one partition): a new owner reloads its open windows. */
    sourcePartition: integer('source_partition'),
    version: integer('version').notNull().default(1),
    /**
     * The partition epoch of the owner that last wrote the row (see `source_offsets.epoch`): a
     * row's writers only ever go forward, never back to an owner that lost the partition.
     */
    sourceEpoch: bigint('source_epoch', { mode: 'number' }),
    /** Trace id of the emit that last wrote this row, so a number can be followed in Jaeger. */
    traceId: text('trace_id'),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.stream, t.window, t.windowStart, t.key] }),
    // NOTE: the primary key's prefix (tenant, stream, window, window_start) serves range scans.
    index('windows_open_idx').on(t.stream, t.sourcePartition).where(sql`${t.status} = 'provisional'`),
    check('windows_status_check', sql`${t.status} in ('provisional', 'settled', 'amended')`),
    check('windows_bounds_check', sql`${t.windowEnd} > ${t.windowStart}`),
  ],
);

/**
 * How long each stream keeps its windows in PostgreSQL (the stream's declared `windowRetention`;
 * null: for good), as the processors running it last said: partition maintenance drops a day only
 * once it is past the longest retention here (never while a stream keeps its windows for good),
 * and deletes a shorter-lived stream's older rows by themselves.
 */
export const streamRetention = pgTable('stream_retention', {
  stream: text('stream').primaryKey(),
  windowRetentionMs: bigint('window_retention_ms', { mode: 'number' }),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

/**
 * The next Kafka offset to read per consumer group and partition, written in the same transaction
 * as the rows it reflects (null: claimed, nothing committed yet). `epoch` fences a worker that
 * lost the partition: each new owner takes the next epoch, and a write carrying an older one is
 * refused.
 */
export const sourceOffsets = pgTable(
  'source_offsets',
  {
    consumerGroup: text('consumer_group').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    nextOffset: bigint('next_offset', { mode: 'bigint' }),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    /** The partition's watermark (epoch ms) as of `next_offset`; null before the first event. */
    watermark: bigint('watermark', { mode: 'number' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.consumerGroup, t.topic, t.partition] })],
);

/**
 * Each partition's health as its owner last saw it (issue 23, the dashboard's health row): the
 * log end offset of its last fetch and the next offset it had committed at that moment (their
 * difference is the consumer lag), the rates of both over the last interval, and running counts of
 * records by outcome. The processor upserts one row per owned partition on a timer, in one
 * statement for all of them (never per batch: off the hot path, bounded by the partitions owned).
 * Stream-wide operational figures, not any tenant's: the records of every tenant share the topic.
 * The counts are added after a commit lands, so a worker that dies between its commit and its next
 * write loses those few seconds of counts (they may undercount; they never count a batch twice).
 */
export const partitionHealth = pgTable(
  'partition_health',
  {
    consumerGroup: text('consumer_group').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    /** The partition's log end offset (high watermark) the owner's client last saw; null: unknown yet. */
    endOffset: bigint('end_offset', { mode: 'number' }),
    /** The owner's committed next offset when it saw `end_offset`. */
    nextOffset: bigint('next_offset', { mode: 'number' }),
    /** Records appended to the partition per second over the owner's last interval. */
    inPerSecond: doublePrecision('in_per_second'),
    /** Records the owner committed per second over its last interval (processed, late, DLQ alike). */
    processedPerSecond: doublePrecision('processed_per_second'),
    processed: bigint('processed', { mode: 'number' }).notNull().default(0),
    late: bigint('late', { mode: 'number' }).notNull().default(0),
    dlq: bigint('dlq', { mode: 'number' }).notNull().default(0),
    rejected: bigint('rejected', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.consumerGroup, t.topic, t.partition] })],
);

/**
 * API keys (issue 21). Only the SHA-256 of a key is kept: a key is 256 random bits, so a fast hash
 * is as safe as a slow one and lets every request be checked in microseconds. `id` is the key's
 * public part (it is in the key itself, `slk_<id>_<secret>`), what logs, traces and revocation name.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    name: text('name'),
    scopes: text('scopes').array().notNull(),
    keyHash: text('key_hash').notNull().unique(),
    /** Events per second (GCRA, one second of burst) across every edge and ingest; null: no limit. */
    eventsPerSecond: integer('events_per_second'),
    /** Requests per second on every service; null: no limit. */
    requestsPerSecond: integer('requests_per_second'),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('api_keys_tenant_idx').on(t.tenant)],
);

/** A tenant's daily events quota (UTC days); a tenant without a row has the services' default. */
export const tenantQuotas = pgTable('tenant_quotas', {
  tenant: text('tenant').primaryKey(),
  dailyEvents: bigint('daily_events', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

/**
 * Webhook sources (issue 22): a tenant's endpoint for one provider. The id is the credential in
 * the URL (`/v1/webhooks/<id>`); the secrets are sealed (webhooks/secret-box.ts), never plain. A
 * rotation keeps the previous secret until `previous_retires_at`; removal is a tombstone.
 */
export const webhookSources = pgTable(
  'webhook_sources',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    name: text('name'),
    provider: text('provider').notNull(),
    stream: text('stream').notNull(),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousRetiresAt: timestamp('previous_retires_at', { withTimezone: true, precision: 3 }),
    /** Tolerance, the generic HMAC scheme and the mapping (webhooks/source.ts sourceOptionsSchema). */
    options: jsonb('options').notNull().default({}),
    removedAt: timestamp('removed_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('webhook_sources_tenant_idx').on(t.tenant)],
);
