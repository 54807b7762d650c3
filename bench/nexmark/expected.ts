// What each Nexmark query must hold once every bid is aggregated, computed by the bench itself from
// the bids it generated (never by the processor's code): the rows (key, start, end) with their
// value, to compare with the rows the processor wrote to PostgreSQL.

import type { NexmarkQuery } from './queries.ts';

/** The bids' columns (one index per bid), as the generator made them. */
export interface BidColumns {
  readonly auction: Float64Array;
  readonly bidder: Float64Array;
  readonly price: Float64Array;
  readonly time: Float64Array;
  readonly length: number;
}

/** A window row as `key start end` (epoch ms), mapped to its count (or, for q7, its highest price). */
export type Rows = Map<string, number>;

export const rowId = (key: string, start: number, end: number) => `${key} ${start} ${end}`;

/** The group key a bid has under `query` (ingest's rendering: the value itself; `[]` for none). */
function keyOf(query: NexmarkQuery, bids: BidColumns, i: number): string {
  if (query.groupBy === 'all') return '[]';
  return String(query.groupBy === 'auction' ? bids.auction[i] : bids.bidder[i]);
}

export function expectedRows(query: NexmarkQuery, bids: BidColumns): Rows {
  const spec = query.window;
  const rows: Rows = new Map();
  const isMax = query.aggregations.some((a) => a.fn === 'max');
  const add = (id: string, i: number) => {
    const price = bids.price[i] ?? 0;
    const before = rows.get(id);
    if (isMax) rows.set(id, before === undefined ? price : Math.max(before, price));
    else rows.set(id, (before ?? 0) + 1);
  };
  if (spec.kind === 'session') {
    // Per key, times sorted; a bid at most `gap` after the previous one continues its session
    // (bounds inclusive), which ends `gap` after its last bid.
    const times = new Map<string, number[]>();
    for (let i = 0; i < bids.length; i++) {
      const key = keyOf(query, bids, i);
      const list = times.get(key) ?? [];
      list.push(bids.time[i] ?? 0);
      times.set(key, list);
    }
    for (const [key, list] of times) {
      list.sort((a, b) => a - b);
      let start = list[0] ?? 0;
      let last = start;
      let n = 0;
      for (const t of list) {
        if (t - last > spec.gapMs) {
          rows.set(rowId(key, start, last + spec.gapMs), n);
          start = t;
          n = 0;
        }
        last = t;
        n += 1;
      }
      rows.set(rowId(key, start, last + spec.gapMs), n);
    }
    return rows;
  }
  const size = spec.sizeMs;
  const slide = spec.kind === 'hopping' ? spec.slideMs : size;
  for (let i = 0; i < bids.length; i++) {
    const t = bids.time[i] ?? 0;
    const key = keyOf(query, bids, i);
    // Every window [k * slide, k * slide + size) holding t.
    for (let k = Math.floor((t - size) / slide) + 1; k * slide <= t; k++)
      add(rowId(key, k * slide, k * slide + size), i);
  }
  return rows;
}

/** The differences between what is expected and what was written, the first `limit` of them. */
export function differences(want: Rows, got: Rows, limit = 5): string[] {
  const out: string[] = [];
  for (const [id, value] of want) {
    if (out.length >= limit) return out;
    const found = got.get(id);
    if (found !== value) out.push(`${id}: expected ${value}, got ${found ?? 'no row'}`);
  }
  for (const [id, value] of got) {
    if (out.length >= limit) return out;
    if (!want.has(id)) out.push(`${id}: unexpected row with ${value}`);
  }
  return out;
}
