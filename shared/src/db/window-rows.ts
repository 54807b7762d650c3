// One window row as the processor and the query API read it back: the same columns, the same
// epoch-millisecond conversion, the same shape.

import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { AggState, StoredAggState } from '../streams/aggregate.ts';
import { reviveState } from '../streams/aggregate.ts';
import type { WindowStatus } from './schema.ts';

/**
 * A window row as read. `S` is its accumulator state: as stored (sketches still tagged strings,
 * what a reader that only shows `values` needs) or revived (objects, for merging and adding).
 */
export interface StoredWindow<S extends StoredAggState | AggState = StoredAggState> {
  readonly tenant: string;
  readonly window: string;
  readonly start: number;
  readonly end: number;
  readonly key: string;
  readonly values: Record<string, number | null>;
  readonly state: S;
  readonly status: WindowStatus;
  readonly version: number;
  /** The trace of the batch that last emitted it (guarantee: a row names a trace Jaeger knows). */
  readonly traceId?: string | null;
}

export type StoredWindowRow = {
  tenant: string;
  window: string;
  start_ms: string;
  end_ms: string;
  key: string;
  values: Record<string, number | null>;
  state: StoredAggState;
  status: WindowStatus;
  version: number;
  trace_id: string | null;
};

/** A timestamptz column as epoch milliseconds (bigint), exact for the millisecond precision stored. */
export const epochMs = (column: SQL) => sql`(extract(epoch from ${column}) * 1000)::bigint`;

/** `windows` columns as StoredWindowRow, for a query over `windows` aliased as `w`. */
export const STORED_WINDOW_COLUMNS = sql`w.tenant, w."window", ${epochMs(sql`w.window_start`)} as start_ms,
  ${epochMs(sql`w.window_end`)} as end_ms, w.key, w.values, w.state, w.status, w.version, w.trace_id`;

/** An epoch-millisecond parameter as a timestamptz, in integer arithmetic (no float rounding). */
export const atEpochMs = (ms: number | SQL) => sql`('epoch'::timestamptz + ${ms} * interval '1 millisecond')`;

export function fromStoredRow(r: StoredWindowRow): StoredWindow {
  return {
    tenant: r.tenant,
    window: r.window,
    start: Number(r.start_ms),
    end: Number(r.end_ms),
    key: r.key,
    values: r.values,
    state: r.state,
    status: r.status,
    version: r.version,
    traceId: r.trace_id,
  };
}

/** A row with its sketches revived: only for readers that merge or add to its state. */
export function withRevivedState(w: StoredWindow): StoredWindow<AggState> {
  return { ...w, state: reviveState(w.state) };
}
