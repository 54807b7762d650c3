// The bakery streams end to end, against real Kafka, PostgreSQL and Redis: hourly and hopping sales
// windows with a data-quality score, oven runs as session windows, and the late-arrival scenario.
// Every window is compared with values computed here from what was sent, before and after a
// second wave of late events: a sale 10 h late amends its windows (48 h allowed lateness), one
// 50 h late lands in sales-events.late, and an oven reading that bridges two settled runs merges
// them into one amended session whose second row is gone.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { topicNames } from '@sluice/shared/streams/registry';
import type postgres from 'postgres';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { postEvents } from '../../shared/test/ingest-client.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { makeReading, makeSale, makeUpdate, seededRandom } from '../../tools/bakery-data.ts';

const stack = stackEnv();
const MINUTE = 60_000;
const HOUR = 3_600_000;
let p: TestPipeline;
let sql: postgres.Sql;
let ingest: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  // Idle partitions advance their watermark to wall clock minus the stream's delay within seconds.
  p = await testPipeline('bakery', { SLUICE_IDLE_TIMEOUT_MS: '2000', SLUICE_TICK_MS: '250' });
  sql = p.sql;
  ingest = await p.start('ingest');
  await p.start('processor');
  query = await p.start('query');
});

after(() => p.close());

type Data = Record<string, unknown>;
interface Sent {
  readonly stream: string;
  readonly data: Data;
}

const timeOf = (d: Data) => Date.parse(String(d.timestamp));
const num = (d: Data, field: string) => Number(d[field]);

/** Independent expectations: one entry per window row, keyed `window|start|key`. */
interface Want {
  counted: number;
  sumA: number;
  rejected: Record<string, number>;
  end: number;
}

function add(out: Map<string, Want>, id: string, end: number, broken: string | undefined, a: number): void {
  const w = out.get(id) ?? { counted: 0, sumA: 0, rejected: {}, end };
  if (broken === undefined) {
    w.counted += 1;
    w.sumA += a;
  } else w.rejected[broken] = (w.rejected[broken] ?? 0) + 1;
  out.set(id, w);
}

function salesRule(d: Data): string | undefined {
  if (num(d, 'quantity') < 0) return 'non_negative_quantity';
  if (num(d, 'unit_price') < 0) return 'non_negative_price';
  return undefined;
}

/** Sales per store: hourly (count, revenue in cents) and 1 h every 15 min (count). */
function expectedSales(sales: readonly Data[]): Map<string, Want> {
  const out = new Map<string, Want>();
  for (const d of sales) {
    const t = timeOf(d);
    const store = String(d.store_id);
    const cents = Math.round(num(d, 'total') * 100);
    const hour = Math.floor(t / HOUR) * HOUR;
    add(out, `1h|${hour}|${store}`, hour + HOUR, salesRule(d), cents);
    for (let k = 0; k < 4; k++) {
      const start = Math.floor(t / (15 * MINUTE)) * 15 * MINUTE - k * 15 * MINUTE;
      add(out, `1h/15m|${start}|${store}`, start + HOUR, salesRule(d), cents);
    }
  }
  return out;
}

/** Oven runs: per machine, readings sorted by time, a new run after more than 10 quiet minutes. */
function expectedRuns(readings: readonly Data[]): Map<string, Want> {
  const out = new Map<string, Want>();
  const byMachine = new Map<string, Data[]>();
  for (const d of readings)
    byMachine.set(String(d.equipment_id), [...(byMachine.get(String(d.equipment_id)) ?? []), d]);
  for (const [machine, list] of byMachine) {
    const sorted = list.toSorted((a, b) => timeOf(a) - timeOf(b));
    let run: { start: number; events: Data[] } | undefined;
    const close = () => {
      if (run === undefined) return;
      const last = run.events.at(-1);
      const end = (last === undefined ? run.start : timeOf(last)) + 10 * MINUTE;
      for (const e of run.events) {
        const value = num(e, 'value');
        add(
          out,
          `session:10m|${run.start}|${machine}`,
          end,
          value < -50 || value > 400 ? 'plausible_value' : undefined,
          0,
        );
      }
    };
    for (const d of sorted) {
      const last = run?.events.at(-1);
      if (run !== undefined && last !== undefined && timeOf(d) - timeOf(last) <= 10 * MINUTE)
        run.events.push(d);
      else {
        close();
        run = { start: timeOf(d), events: [d] };
      }
    }
    close();
  }
  return out;
}

/** Stock movements per store and product every 15 minutes: net change. */
function expectedStock(updates: readonly Data[]): Map<string, Want> {
  const out = new Map<string, Want>();
  for (const d of updates) {
    const start = Math.floor(timeOf(d) / (15 * MINUTE)) * 15 * MINUTE;
    const key = JSON.stringify([d.store_id, d.product]);
    add(
      out,
      `15m|${start}|${key}`,
      start + 15 * MINUTE,
      num(d, 'stock_after') < 0 ? 'non_negative_stock' : undefined,
      num(d, 'change'),
    );
  }
  return out;
}

interface DbRow {
  window: string;
  start: string;
  end: string;
  key: string;
  values: Record<string, number | null>;
  status: string;
  version: number;
}

async function rowsOf(stream: string): Promise<Map<string, DbRow>> {
  const rows = await sql<DbRow[]>`
    select "window", (extract(epoch from window_start) * 1000)::bigint::text as start,
           (extract(epoch from window_end) * 1000)::bigint::text as end, key, values, status, version
    from windows where stream = ${stream}`;
  return new Map(rows.map((r) => [`${r.window}|${r.start}|${r.key}`, r]));
}

/** Compares every expected window with its row; `sum` names the summed value checked, in `scale` units. */
function compare(
  stream: string,
  got: Map<string, DbRow>,
  want: Map<string, Want>,
  counted: string,
  sum?: { name: string; scale: number },
) {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${stream}: the windows`);
  for (const [id, w] of want) {
    const row = got.get(id);
    assert.ok(row, id);
    const rejected = Object.values(w.rejected).reduce((n, x) => n + x, 0);
    assert.equal(Number(row.end), w.end, `${stream} ${id}: end`);
    assert.equal(row.values[counted], w.counted, `${stream} ${id}: ${counted}`);
    if (sum !== undefined) {
      const got = Math.round((row.values[sum.name] ?? Number.NaN) * sum.scale);
      assert.equal(got, w.sumA, `${stream} ${id}: ${sum.name}`);
    }
    assert.equal(row.values.rejected, rejected, `${stream} ${id}: rejected`);
    for (const [rule, n] of Object.entries(w.rejected))
      assert.equal(row.values[`rejected_${rule}`], n, `${id}: ${rule}`);
    assert.equal(
      row.values.quality_score,
      w.counted / (w.counted + rejected),
      `${stream} ${id}: quality_score`,
    );
  }
}

async function settled(streams: readonly string[], total: number): Promise<void> {
  await waitFor(
    async () => {
      const [row] = await sql<{ open: number; n: number }[]>`
        select count(*) filter (where status = 'provisional')::int as open, count(*)::int as n
        from windows where stream = any(${streams as string[]})`;
      return row !== undefined && row.open === 0 && row.n === total ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${total} settled bakery windows` },
  );
}

test('bakery windows: hourly, hopping and session windows with data quality, amended by late events', {
  timeout: 180_000,
}, async () => {
  const random = seededRandom(20261122);
  const now = Date.now();
  const salesBase = Math.floor((now - 10 * HOUR) / HOUR) * HOUR;
  const ovenBase = Math.floor((now - 50 * MINUTE) / MINUTE) * MINUTE;
  const stockBase = Math.floor((now - 3 * HOUR) / HOUR) * HOUR;
  let seq = 0;
  const id = (p: string) => `${p}-${seq++}`;

  const sales = Array.from({ length: 240 }, (_, i) =>
    makeSale(random, id('sale'), salesBase + Math.floor(random() * 3 * HOUR), i % 20 === 0),
  );
  sales.push({
    ...makeSale(random, id('sale'), salesBase + 90 * MINUTE),
    unit_price: -2.5,
    total: -2.5,
    quantity: 1,
  });
  // Two oven-1 runs 16 minutes apart (two sessions), the proofer running throughout, one reading
  // out of range (scored as rejected, but still part of its run).
  const readings = [
    ...[0, 2, 4, 20, 22].map((m) => ({
      ...makeReading(random, id('r'), ovenBase + m * MINUTE),
      equipment_id: 'oven-1',
    })),
    ...Array.from({ length: 31 }, (_, m) => ({
      ...makeReading(random, id('r'), ovenBase + m * MINUTE, m === 7),
      equipment_id: 'proofer-1',
    })),
  ];
  const updates = Array.from({ length: 40 }, (_, i) =>
    makeUpdate(random, id('u'), stockBase + Math.floor(random() * HOUR), i % 10 === 3),
  );
  const malformed: Sent[] = [
    { stream: 'sales-events', data: { ...makeSale(random, id('bad'), salesBase), quantity: 'two' } },
    {
      stream: 'equipment-metrics',
      data: { reading_id: id('bad'), equipment_id: 'oven-2', metric: 'temperature_c' },
    },
  ];
  const wave: Sent[] = [
    ...sales.map((data) => ({ stream: 'sales-events', data })),
    ...readings.map((data) => ({ stream: 'equipment-metrics', data })),
    ...updates.map((data) => ({ stream: 'inventory-updates', data })),
    ...malformed,
  ];
  const answer = await postEvents(ingest.url, wave);
  assert.equal(answer.accepted, wave.length - malformed.length);
  assert.deepEqual(
    answer.rejected.map((r) => r.index),
    [wave.length - 2, wave.length - 1],
    'malformed events get per-event errors; the rest is accepted',
  );

  const want = {
    sales: expectedSales(sales),
    runs: expectedRuns(readings),
    stock: expectedStock(updates),
  };
  assert.equal([...want.runs.keys()].filter((k) => k.endsWith('oven-1')).length, 2, 'two oven runs');
  const sessionRows = want.runs.size;
  const minuteRows = new Set(readings.map((d) => `${Math.floor(timeOf(d) / MINUTE)}|${d.equipment_id}`)).size;
  await settled(['sales-events', 'inventory-updates'], want.sales.size + want.stock.size);
  await settled(['equipment-metrics'], sessionRows + minuteRows);

  const sessionsOnly = (rows: Map<string, DbRow>) =>
    new Map([...rows].filter(([k]) => k.startsWith('session')));
  compare('sales-events', await rowsOf('sales-events'), want.sales, 'sales', { name: 'revenue', scale: 100 });
  compare('equipment-metrics', sessionsOnly(await rowsOf('equipment-metrics')), want.runs, 'readings');
  compare('inventory-updates', await rowsOf('inventory-updates'), want.stock, 'updates', {
    name: 'net_change',
    scale: 1,
  });

  // Rule breakers are kept, with their rule, in the DLQ.
  const brokenSales = sales.filter((d) => salesRule(d) !== undefined).length;
  const dlq = await readTopic(
    stack.kafkaBrokers,
    topicNames('sales-events', p.iso.topicPrefix).dlq,
    brokenSales,
  );
  assert.equal(dlq.length, brokenSales);
  assert.ok(dlq.every((r) => r.headers['sluice-dlq-step'] === 'quality'));

  // The query API shows the score per window.
  const hourly = await fetch(
    `${query.url}/v1/streams/sales-events/windows?window=1h&group_by=none&from=${new Date(salesBase).toISOString()}&to=${new Date(salesBase + 3 * HOUR).toISOString()}`,
  );
  assert.equal(hourly.status, 200);
  const body = (await hourly.json()) as { data: { values: Record<string, number> }[] };
  const passed = sales.length - brokenSales;
  const shown = body.data.reduce((n, r) => n + (r.values.sales ?? 0), 0);
  assert.equal(shown, passed);

  // Second wave, hours later for the tills: a sale 10 h late amends; one 50 h late is late; an oven
  // reading at minute 12 bridges the two settled runs.
  const lateSale = { ...makeSale(random, id('late'), salesBase + 30 * MINUTE), store_id: 'store-north' };
  const tooLate = makeSale(random, id('too-late'), now - 50 * HOUR);
  const bridge = { ...makeReading(random, id('bridge'), ovenBase + 12 * MINUTE), equipment_id: 'oven-1' };
  await postEvents(ingest.url, [
    { stream: 'sales-events', data: lateSale },
    { stream: 'sales-events', data: tooLate },
    { stream: 'equipment-metrics', data: bridge },
  ]);
  const [late] = await readTopic(stack.kafkaBrokers, topicNames('sales-events', p.iso.topicPrefix).late, 1);
  assert.equal(late?.headers['sluice-late-reason'], 'beyond-allowed-lateness');

  const after2 = {
    sales: expectedSales([...sales, lateSale]),
    runs: expectedRuns([...readings, bridge]),
  };
  assert.equal([...after2.runs.keys()].filter((k) => k.endsWith('oven-1')).length, 1, 'one merged oven run');
  const merged = `session:10m|${ovenBase}|oven-1`;
  const hourId = `1h|${salesBase}|store-north`;
  await waitFor(
    async () => {
      const [s, e] = [await rowsOf('sales-events'), await rowsOf('equipment-metrics')];
      return s.get(hourId)?.status === 'amended' && e.get(merged)?.status === 'amended' ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the amended sales window and merged oven run' },
  );
  const salesRows = await rowsOf('sales-events');
  compare('sales-events', salesRows, after2.sales, 'sales', { name: 'revenue', scale: 100 });
  assert.equal(salesRows.get(hourId)?.version, 2);
  const equipmentRows = await rowsOf('equipment-metrics');
  compare('equipment-metrics', sessionsOnly(equipmentRows), after2.runs, 'readings');
  assert.equal(equipmentRows.get(merged)?.version, 2);
  assert.equal(
    equipmentRows.has(`session:10m|${ovenBase + 20 * MINUTE}|oven-1`),
    false,
    'the second run merged away',
  );
});
