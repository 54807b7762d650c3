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
  readonly users: ReadonlySet<string>;
  readonly amounts: readonly number[];
}

export function expectedWindows(
  transactions: readonly Transaction[],
  sizeMs = 60_000,
): Map<string, ExpectedWindow> {
  const out = new Map<string, ExpectedWindow & { users: Set<string>; amounts: number[] }>();
  for (const t of transactions) {
    const time = Date.parse(t.timestamp);
    const start = time - (time % sizeMs);
    const id = `${start}|${t.product_category}`;
    const cents = Math.round(t.amount * 100);
    const prev = out.get(id);
    const users = prev?.users ?? new Set<string>();
    const amounts = prev?.amounts ?? [];
    users.add(t.user_id);
    amounts.push(t.amount);
    out.set(id, {
      start,
      key: t.product_category,
      count: (prev?.count ?? 0) + 1,
      sumCents: (prev?.sumCents ?? 0) + cents,
      min: Math.min(prev?.min ?? Number.POSITIVE_INFINITY, t.amount),
      max: Math.max(prev?.max ?? Number.NEGATIVE_INFINITY, t.amount),
      users,
      amounts,
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
  return approximateMismatch(row, want);
}

/**
 * How far a HyperLogLog estimate (4,096 registers) may be from `exact`: 5% (over 3.5 standard
 * errors in the range tests use), and at least 3, since a few values can share a register (two
 * collisions among 32 values happen about once in 140 windows; three once in 3,000).
 */
export function distinctTolerance(exact: number): number {
  return Math.max(3, exact * 0.05);
}

/** The sketches against exact answers: distinct users (distinctTolerance) and p95 within 1% plus a cent. */
export function approximateMismatch(
  row: Pick<ApiRow, 'window_start' | 'key' | 'values'>,
  want: ExpectedWindow,
): string | undefined {
  const distinctUsers = row.values.distinct_users ?? Number.NaN;
  if (!(Math.abs(distinctUsers - want.users.size) <= distinctTolerance(want.users.size)))
    return `${row.window_start} ${row.key}: distinct_users is ${distinctUsers}, expected ~${want.users.size}`;
  const sorted = [...want.amounts].sort((a, b) => a - b);
  const p95 = sorted[Math.floor(0.95 * (sorted.length - 1))] ?? Number.NaN;
  const got = row.values.p95_amount ?? Number.NaN;
  if (!(Math.abs(got - p95) <= p95 * 0.01 + 0.005))
    return `${row.window_start} ${row.key}: p95_amount is ${got}, expected ~${p95}`;
  return undefined;
}
