// The exactness check of the processor's integration tests: the windows of a known workload, once
// settled, hold exactly what a model computes from the events sent (guarantee 2), and nothing else.

import assert from 'node:assert/strict';
import type postgres from 'postgres';
import { approximateMismatch, expectedWindows } from '../../e2e/test/expected.ts';
import { waitFor } from '../../shared/test/harness.ts';
import type { ServiceHandle } from '../../shared/test/services.ts';
import type { Transaction } from '../../tools/ecommerce-data.ts';

export interface DbWindow {
  start: Date;
  key: string;
  values: Record<string, number>;
  status: string;
}

/** The windows of [from, to), in start and key order. */
export function windowsBetween(sql: postgres.Sql, from: number, to: number): Promise<DbWindow[]> {
  return sql<DbWindow[]>`
    select window_start as start, key, values, status from windows
    where window_start >= ${new Date(from)} and window_start < ${new Date(to)} order by window_start, key`;
}

/** Waits (up to a minute) for `sent` to be settled in [from, to), then compares every window. */
export async function assertExact(
  sql: postgres.Sql,
  sent: readonly Transaction[],
  from: number,
  to: number,
  workers: readonly ServiceHandle[],
): Promise<void> {
  const expected = expectedWindows(sent);
  const between = () => windowsBetween(sql, from, to);
  const rows = await waitFor(
    async () => {
      const rows = await between();
      const total = rows.reduce((n, r) => n + (r.values.count ?? 0), 0);
      return rows.length === expected.size &&
        total === sent.length &&
        rows.every((r) => r.status === 'settled')
        ? rows
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `${sent.length} events in ${expected.size} settled windows` },
  ).catch(async (error: unknown) => {
    const offsets = await sql`select partition, next_offset, watermark from source_offsets order by 1`;
    const open =
      await sql`select source_partition, count(*)::int as n, max(window_end) as end from windows where status = 'provisional' group by 1`;
    const rows = await between();
    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + (r.values.count ?? 0);
    throw new Error(
      `${String(error)}; counted by status: ${JSON.stringify(byStatus)} in ${rows.length} rows; open: ${JSON.stringify(open)}; offsets: ${JSON.stringify(offsets)}\n${workers.map((w) => `--- ${w.name}\n${w.output().slice(-4_000)}`).join('\n')}`,
    );
  });
  for (const row of rows) {
    const want = expected.get(`${row.start.getTime()}|${row.key}`);
    assert.ok(want, `unexpected window ${row.start.toISOString()} ${row.key.slice(0, 40)}`);
    assert.equal(row.values.count, want.count, `count of ${row.start.toISOString()} ${row.key}`);
    assert.equal(row.values.sum_amount, want.sumCents / 100);
    assert.equal(row.values.min_amount, want.min);
    assert.equal(row.values.max_amount, want.max);
    const at = { window_start: row.start.toISOString(), key: row.key, values: row.values };
    assert.equal(approximateMismatch(at, want), undefined);
  }
}
