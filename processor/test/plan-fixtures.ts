// For pure units of batch planning only: an ecommerce record as ingest writes it, a fresh
// partition state, and in-memory stand-ins for PostgreSQL (rows remembered on commit) and for
// the Redis dedup claims (the first record to claim an id keeps it). The real ones are exercised
// by the integration tests.

import { encodeEvent } from '@sluice/shared/events/envelope';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import { reviveState, storeState } from '@sluice/shared/streams/aggregate';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { topicNames } from '@sluice/shared/streams/registry';
import type { PartitionState } from '../src/partition-state.ts';
import { windowId } from '../src/partition-state.ts';
import type { Dedup } from '../src/stores/dedup-claims.ts';
import type { WindowRowWrite, WindowSink } from '../src/stores/postgres-rows.ts';

export const T0 = Date.parse('2026-05-01T00:00:00Z');

/** A fresh partition 0 of `t.ecommerce`; `stream` swaps in other windows over the ecommerce payload. */
export function partitionState(stream: StreamDefinition = ecommerce): PartitionState {
  return {
    topic: 't.ecommerce',
    partition: 0,
    stream,
    epoch: 0,
    nextOffset: null,
    maxEventTime: null,
    watermark: null,
    lastActivity: 0,
    windows: new Map(),
  };
}

export interface RecordOptions {
  readonly amount?: number;
  readonly category?: string;
  /** The event id; `id-<offset>` unless given (a resent copy gives its original's). */
  readonly id?: string;
  readonly tenant?: string;
  /** The CloudEvents `source`; none unless given. */
  readonly source?: string;
}

/** One ecommerce event at `time` in partition 0 of `t.ecommerce`, at `offset`. */
export function ecommerceRecord(offset: number, time: number, options: RecordOptions = {}): IncomingRecord {
  const { amount = 10, category = 'Books', id = `id-${offset}`, tenant = 'default', source } = options;
  const value = encodeEvent({
    id,
    stream: 'ecommerce',
    tenant,
    ...(source === undefined ? {} : { source }),
    time,
    receivedAt: time,
    key: category,
    data: {
      transaction_id: id,
      user_id: 'u',
      product_category: category,
      product_name: 'p',
      amount,
      timestamp: time,
      payment_method: 'card',
    },
  });
  return {
    topic: 't.ecommerce',
    partition: 0,
    offset: BigInt(offset),
    key: null,
    value: new TextEncoder().encode(value),
    headers: {},
    timestamp: time,
  };
}

/**
 * Remembers committed rows, as PostgreSQL would, so a settled window can come back: states pass
 * through their stored (JSON) form both ways, as they do through a jsonb column.
 */
export function memorySink(): WindowSink & { rows: Map<string, WindowRowWrite> } {
  const rows = new Map<string, WindowRowWrite>();
  return {
    rows,
    claimPartition: async () => ({ nextOffset: null, watermark: null, epoch: 1 }),
    readOpenWindows: async () => [],
    readWindows: async (_stream, window, wanted) =>
      wanted.flatMap(({ tenant, start, key }) => {
        const row = rows.get(windowId(tenant, window, start, key));
        return row === undefined ? [] : [{ ...row, state: reviveState(storeState(row.state)) }];
      }),
    readSessions: async (_stream, window, lookups) =>
      [...rows.values()]
        .filter(
          (row) =>
            row.window === window &&
            lookups.some(
              (l) => l.tenant === row.tenant && l.key === row.key && row.start <= l.to && row.end >= l.from,
            ),
        )
        .map((row) => ({ ...row, state: reviveState(storeState(row.state)) })),
    commit: async (written, _offset, { removed = [] } = {}) => {
      for (const gone of removed) rows.delete(windowId(gone.tenant, gone.window, gone.start, gone.key));
      for (const row of written)
        rows.set(windowId(row.tenant, row.window, row.start, row.key), {
          ...row,
          state: reviveState(JSON.parse(JSON.stringify(storeState(row.state)))),
        });
      return { ok: true, value: undefined };
    },
  };
}

export function memoryDedup(): Dedup {
  const claimed = new Map<string, bigint>();
  return {
    claim: async (stream, partition, _horizonMs, claims) =>
      claims.map(({ tenant, id, time, offset }) => {
        const key = `${stream}|${partition}|${tenant}|${Math.floor(time / 3_600_000)}|${id}`;
        const prev = claimed.get(key);
        if (prev === undefined) claimed.set(key, offset);
        return prev === undefined || prev === offset;
      }),
  };
}

/** Planning dependencies over `sink`: a fresh in-memory dedup, group `g`, topics `t.ecommerce*`. */
export function planDeps(sink: WindowSink) {
  return { sink, dedup: memoryDedup(), group: 'g', topics: topicNames('ecommerce', 't.'), now: T0 };
}
