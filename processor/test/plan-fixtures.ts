// For pure units of batch planning only: an ecommerce record as ingest writes it, a fresh
// partition state, the stages of a batch run as the consumer loop runs them, and what PostgreSQL
// and the Redis dedup claims hold as plain maps (the first record to claim an id keeps it), from
// which a batch's load requests are answered. The real stores are exercised by the integration
// tests.

import type { StoredWindow } from '@sluice/shared/db/window-rows';
import { encodeEvent } from '@sluice/shared/events/envelope';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { reviveState, storeState } from '@sluice/shared/streams/aggregate';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { topicNames } from '@sluice/shared/streams/registry';
import type { OpenWindow, PartitionState } from '../src/partition-state.ts';
import { windowId } from '../src/partition-state.ts';
import { decodeBatch } from '../src/stages/decode.ts';
import type { Loaded, LoadRequests } from '../src/stages/load.ts';
import { loadRequests } from '../src/stages/load.ts';
import { placeEvents } from '../src/stages/place.ts';
import type { BatchPlan, PlanContext } from '../src/stages/plan.ts';
import { planBatch } from '../src/stages/plan.ts';
import type { WindowRowWrite } from '../src/stores/postgres-rows.ts';

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
 * What PostgreSQL holds for these units: committed rows by window id, their states passed through
 * their stored (JSON) form both ways, as through a jsonb column. Plain data, not a store: the plan
 * is pure, and a test answers its load requests from here (loadedFrom).
 */
export interface StoredRows {
  readonly rows: Map<string, WindowRowWrite>;
}

export function storedRows(): StoredRows {
  return { rows: new Map() };
}

/** The dedup claims made so far: the offset of the first record to claim each id. */
export type ClaimedIds = Map<string, bigint>;

export function claimedIds(): ClaimedIds {
  return new Map();
}

const revived = (row: WindowRowWrite): StoredWindow<AggState> => ({
  ...row,
  state: reviveState(storeState(row.state)),
});

/** What the stores would answer to `requests` (stages/load.ts reads the same from the real ones). */
export function loadedFrom(
  state: PartitionState,
  requests: LoadRequests,
  stored: StoredRows,
  claimed: ClaimedIds,
): Loaded {
  const windows = new Map<string, OpenWindow>();
  for (const spec of state.stream.windows) {
    if (spec.kind === 'session') {
      const lookups = requests.sessions.get(spec.name) ?? [];
      for (const row of stored.rows.values()) {
        if (row.window !== spec.name) continue;
        if (
          !lookups.some(
            (l) => l.tenant === row.tenant && l.key === row.key && row.start <= l.to && row.end >= l.from,
          )
        )
          continue;
        const id = windowId(row.tenant, row.window, row.start, row.key);
        if (!state.windows.has(id)) windows.set(id, { ...revived(row), stream: state.stream.name });
      }
      continue;
    }
    for (const { tenant, start, key } of requests.windows.get(spec.name) ?? []) {
      const row = stored.rows.get(windowId(tenant, spec.name, start, key));
      if (row !== undefined)
        windows.set(windowId(tenant, spec.name, start, key), { ...revived(row), stream: state.stream.name });
    }
  }
  // The first record to claim an id keeps it; the same record claiming again is still the first.
  const firsts = requests.claims.map(({ tenant, id, time, offset }) => {
    const key = `${state.stream.name}|${state.partition}|${tenant}|${Math.floor(time / 3_600_000)}|${id}`;
    const prev = claimed.get(key);
    if (prev === undefined) claimed.set(key, offset);
    return prev === undefined || prev === offset;
  });
  return { windows, firsts };
}

export interface PlanInputs extends PlanContext {
  readonly stored: StoredRows;
  readonly claimed: ClaimedIds;
}

/** The stages of one batch as the consumer loop runs them, the stores' answers from memory. */
export function planRecords(
  state: PartitionState,
  records: readonly IncomingRecord[],
  inputs: PlanInputs,
): BatchPlan | null {
  const decoded = decodeBatch(state, records);
  if (decoded === null) return null;
  const placement = placeEvents(state, decoded);
  const loaded = loadedFrom(state, loadRequests(state, placement), inputs.stored, inputs.claimed);
  return planBatch(state, placement, loaded, inputs, decoded.skipped);
}

/** A plan's rows and removals, as PostgreSQL would hold them once it commits. */
export function remember(stored: StoredRows, plan: BatchPlan): void {
  for (const gone of plan.removed)
    stored.rows.delete(windowId(gone.tenant, gone.window, gone.start, gone.key));
  for (const row of plan.rows)
    stored.rows.set(windowId(row.tenant, row.window, row.start, row.key), {
      ...row,
      state: reviveState(JSON.parse(JSON.stringify(storeState(row.state)))),
    });
}

/** Planning inputs over `stored`: no claims yet, group `g`, topics `t.ecommerce*`. */
export function planDeps(stored: StoredRows = storedRows()): PlanInputs {
  return { stored, claimed: claimedIds(), group: 'g', topics: topicNames('ecommerce', 't.'), now: T0 };
}
