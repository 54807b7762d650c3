// The rows of a windows answer, from the declared window's rows in range: filtered by key, grouped
// by the key fields asked for and rolled up into coarser buckets (accumulators merge, so an answer
// rolled up is the one the processor would have written for the coarser window), then ordered by
// (window_start, key) and cut into a page after the cursor.

import type { WindowStatus } from '@sluice/shared/db/schema';
import type { StoredWindow } from '@sluice/shared/db/window-rows';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { emptyState, merge, reviveState, valuesOf } from '@sluice/shared/streams/aggregate';
import type { AggSpec, StreamDefinition } from '@sluice/shared/streams/define';
import { valueNames } from '@sluice/shared/streams/define';
import { bucketEnd, bucketStart } from './time-buckets.ts';
import type { Cursor, WindowsParams } from './windows-params.ts';
import { encodeCursor } from './windows-params.ts';

export interface WindowRowView {
  readonly window_start: string;
  readonly window_end: string;
  /** The group's key as stored (one field's value, or a JSON array of several); null rolled up. */
  readonly key: string | null;
  /** The group's key by field. */
  readonly keys: Record<string, string>;
  readonly values: Record<string, number | null>;
  readonly status: WindowStatus;
  readonly version: number;
  /** The trace of the last emit of this window (of its newest part when merged), if sampled. */
  readonly trace_id: string | null;
}

export interface WindowsPage {
  readonly data: WindowRowView[];
  readonly next_cursor: string | null;
}

/** A stored key split into its fields' values (a JSON array for several fields). */
export function keyParts(stream: StreamDefinition, key: string): string[] {
  if (stream.keyBy.length === 1) return [key];
  try {
    const parsed: unknown = JSON.parse(key);
    return Array.isArray(parsed) ? parsed.map(String) : [key];
  } catch {
    return [key];
  }
}

/** The key of a group of fields, written as the processor writes a key of those fields. */
export function joinKey(values: readonly string[]): string {
  return values.length === 1 ? (values[0] ?? '') : JSON.stringify(values);
}

const STATUS_RANK: Record<WindowStatus, number> = { settled: 0, amended: 1, provisional: 2 };

/** The answer merges rows (a roll-up, or fewer key fields than the whole key). */
export const regroups = (stream: StreamDefinition, p: WindowsParams): boolean =>
  p.rollUp !== null || p.groupBy.length < stream.keyBy.length;

/** The rows a page holds, or none: `rows` are the source window's rows in range, any order. */
export function answerWindows(
  stream: StreamDefinition,
  rows: readonly StoredWindow[],
  p: WindowsParams,
  watermark: number | null,
): WindowsPage {
  const fieldIndex = (field: string) => stream.keyBy.indexOf(field);
  const kept = rows.filter((row) => {
    if (p.filter.size === 0) return true;
    const parts = keyParts(stream, row.key);
    for (const [field, values] of p.filter) if (!values.has(parts[fieldIndex(field)] ?? '')) return false;
    return true;
  });
  const views = regroups(stream, p) ? regroup(stream, kept, p, watermark) : perKeyViews(stream, kept, p.aggs);
  views.sort((a, b) => compare(a.start, a.view.key ?? '', b.start, b.view.key ?? ''));
  const after = p.cursor;
  const page = (after === null ? views : views.filter((v) => isAfter(v, after))).slice(0, p.limit + 1);
  const last = page.length > p.limit ? page[p.limit - 1] : undefined;
  return {
    data: page.slice(0, p.limit).map((v) => v.view),
    next_cursor: last === undefined ? null : encodeCursor({ start: last.start, key: last.view.key ?? '' }),
  };
}

interface Positioned {
  readonly start: number;
  readonly view: WindowRowView;
}

const compare = (s1: number, k1: string, s2: number, k2: string) =>
  s1 !== s2 ? s1 - s2 : k1 < k2 ? -1 : k1 > k2 ? 1 : 0;

const isAfter = (v: Positioned, cursor: Cursor) =>
  compare(v.start, v.view.key ?? '', cursor.start, cursor.key) > 0;

/**
 * Instants as RFC 3339, each written once per answer: an hour of 1-minute windows of 6 keys has 720
 * bounds but 61 instants (issue 27: `toISOString` was 6 % of such a miss). Lives for one answer, so
 * it holds at most twice its rows.
 */
function rfc3339Once(): (ms: number) => string {
  const written = new Map<number, string>();
  return (ms) => {
    let text = written.get(ms);
    if (text === undefined) {
      text = new Date(ms).toISOString();
      written.set(ms, text);
    }
    return text;
  };
}

/** A view row and where it sorts, with its bounds as RFC 3339. */
function positioned(
  start: number,
  end: number,
  rest: Omit<WindowRowView, 'window_start' | 'window_end'>,
  rfc3339: (ms: number) => string,
): Positioned {
  return { start, view: { window_start: rfc3339(start), window_end: rfc3339(end), ...rest } };
}

/**
 * Rows answered as stored, with the values asked for. Every row of a cold read passes here (an
 * hour of 1-minute windows of 6 keys is 360), so what is the same for each is worked out once.
 */
function perKeyViews(
  stream: StreamDefinition,
  rows: readonly StoredWindow[],
  aggs: readonly AggSpec[],
): Positioned[] {
  const names = aggs.flatMap(valueNames);
  const [only] = stream.keyBy;
  const single = stream.keyBy.length === 1 && only !== undefined;
  const rfc3339 = rfc3339Once();
  return rows.map((row) => {
    const values: Record<string, number | null> = {};
    for (const name of names) values[name] = row.values[name] ?? null;
    let keys: Record<string, string>;
    if (single) keys = { [only]: row.key };
    else {
      const parts = keyParts(stream, row.key);
      keys = Object.fromEntries(stream.keyBy.map((field, i) => [field, parts[i] ?? '']));
    }
    return {
      start: row.start,
      view: {
        window_start: rfc3339(row.start),
        window_end: rfc3339(row.end),
        key: row.key,
        keys,
        values,
        status: row.status,
        version: row.version,
        trace_id: row.traceId ?? null,
      },
    };
  });
}

interface Group {
  readonly start: number;
  end: number;
  readonly key: string | null;
  readonly keys: Record<string, string>;
  readonly state: AggState;
  status: WindowStatus;
  version: number;
  traceId: string | null;
  traceVersion: number;
}

function regroup(
  stream: StreamDefinition,
  rows: readonly StoredWindow[],
  p: WindowsParams,
  watermark: number | null,
): Positioned[] {
  const groups = new Map<string, Group>();
  const indexes = p.groupBy.map((field) => stream.keyBy.indexOf(field));
  for (const row of rows) {
    const start = p.rollUp === null ? row.start : bucketStart(row.start, p.rollUp);
    const parts = keyParts(stream, row.key);
    const values = indexes.map((i) => parts[i] ?? '');
    const key = values.length === 0 ? null : joinKey(values);
    const id = `${start}|${key ?? ''}`;
    let group = groups.get(id);
    if (group === undefined) {
      group = {
        start,
        end: p.rollUp === null ? row.end : bucketEnd(start, p.rollUp),
        key,
        keys: Object.fromEntries(p.groupBy.map((field, i) => [field, values[i] ?? ''])),
        state: emptyState(p.aggs),
        status: 'settled',
        version: 0,
        traceId: null,
        traceVersion: -1,
      };
      groups.set(id, group);
    }
    // Sketches are revived only here, where states merge; a per-key answer shows stored `values`.
    // Only the aggregations asked for are merged: a sketch not asked for is never decoded.
    merge(group.state, reviveState(row.state, p.aggs), p.aggs);
    if (STATUS_RANK[row.status] > STATUS_RANK[group.status]) group.status = row.status;
    group.version = Math.max(group.version, row.version);
    if (row.traceId && row.version > group.traceVersion) {
      group.traceId = row.traceId;
      group.traceVersion = row.version;
    }
  }
  const rfc3339 = rfc3339Once();
  return [...groups.values()].map((g) => {
    // A rolled-up bucket is final only once the watermark passed its end: a finer window in it may
    // not exist yet.
    const open = p.rollUp !== null && (watermark === null || watermark < g.end);
    return positioned(
      g.start,
      g.end,
      {
        key: g.key,
        keys: g.keys,
        values: valuesOf(g.state, p.aggs),
        status: open ? 'provisional' : g.status,
        version: g.version,
        trace_id: g.traceId,
      },
      rfc3339,
    );
  });
}
