// Independent expectations for ecommerce windows, computed from what a test sent: per minute and
// category, in integer cents (the amounts carry two decimals), never through sluice's own code.

import type { Transaction } from '../../tools/ecommerce-data.ts';

export interface ExpectedWindow {
  readonly start: number;
  readonly key: string;
  readonly count: number;
  readonly sumCents: number;
  readonly min: number;
  readonly max: number;
}

export function expectedWindows(
  transactions: readonly Transaction[],
  sizeMs = 60_000,
): Map<string, ExpectedWindow> {
  const out = new Map<string, ExpectedWindow>();
  for (const t of transactions) {
    const time = Date.parse(t.timestamp);
    const start = time - (time % sizeMs);
    const id = `${start}|${t.product_category}`;
    const cents = Math.round(t.amount * 100);
    const prev = out.get(id);
    out.set(id, {
      start,
      key: t.product_category,
      count: (prev?.count ?? 0) + 1,
      sumCents: (prev?.sumCents ?? 0) + cents,
      min: Math.min(prev?.min ?? Number.POSITIVE_INFINITY, t.amount),
      max: Math.max(prev?.max ?? Number.NEGATIVE_INFINITY, t.amount),
    });
  }
  return out;
}

export interface ApiRow {
  window_start: string;
  window_end: string;
  key: string | null;
  values: Record<string, number | null>;
  status: string;
  version: number;
}

/** Asserts one API row against its expectation; returns a message for the first mismatch. */
export function mismatch(row: ApiRow, want: ExpectedWindow): string | undefined {
  const v = row.values;
  const checks: [string, unknown, unknown][] = [
    ['count', v.count, want.count],
    ['sum_amount', v.sum_amount, want.sumCents / 100],
    ['min_amount', v.min_amount, want.min],
    ['max_amount', v.max_amount, want.max],
    ['avg_amount', v.avg_amount, want.sumCents / want.count / 100],
    ['window_end', Date.parse(row.window_end), want.start + 60_000],
  ];
  for (const [name, got, expected] of checks) {
    if (got !== expected)
      return `${row.window_start} ${row.key}: ${name} is ${String(got)}, expected ${String(expected)}`;
  }
  return undefined;
}
