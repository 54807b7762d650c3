// Live updates and the dashboard, with ingest, the processor and query (on Bun) on the real stack:
// an SSE client gets the update of an event sent after it connected within 2 s and, reconnecting
// with Last-Event-ID, exactly the updates it missed; then headless Chromium opens the dashboard on
// a few minutes of demo data at 1400x1000: the health row shows what GET .../health answers (the
// processor's partition_health reports) and is updated by live `health` events; the chart's axis
// labels are whole (read back, they reach the data's peak, and each fits the axis's width); the
// bars show the latest settled window by key as the API has it; the table is filled; a new window
// arrives live without a reload. At a phone's width (390x844) nothing is wider than the screen.
// A stream with data-quality rules shows its score (the share of readings that passed).
// Screenshots: .artifacts/dashboard.png, dashboard-phone.png and dashboard-quality.png.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EventSourceMessage } from 'eventsource-parser';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../../shared/test/browser.ts';
import { waitFor } from '../../shared/test/harness.ts';
import { postEvents, postTransactions } from '../../shared/test/ingest-client.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { openSse } from '../../shared/test/sse-client.ts';
import { makeReading } from '../../tools/bakery-data.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

let p: TestPipeline;
let ingest: ServiceHandle;
let query: ServiceHandle;
const random = seededRandom(21);
let sequence = 0;

before(async () => {
  p = await testPipeline('live', { SLUICE_STREAMS: 'ecommerce,equipment-metrics' });
  ingest = await p.start('ingest');
  const processor = await p.start('processor');
  query = await p.start('query');
  // The 2 s bound is for an update, not for the consumer group's first assignment.
  await waitFor(
    async () =>
      (await scrape(processor.url)).sum('sluice_processor_assigned_partitions') > 0 ? true : undefined,
    { timeoutMs: 30_000, what: 'the processor owning its partitions' },
  );
});

after(() => p.close());

/** One sale now in a category of the test's own, so its window update is recognisable. */
function sale(category: string, time = Date.now()) {
  sequence += 1;
  return { ...makeTransaction(random, `live-${sequence}`, time), product_category: category };
}

interface Update {
  key: string;
  window_start: string;
  values: { count: number };
}

/** The update of `key` in a `windows` event (one per processor commit), if it holds one. */
function updateOf(event: EventSourceMessage, key: string): Update | undefined {
  if (event.event !== 'windows') return undefined;
  return (JSON.parse(event.data) as Update[]).find((u) => u.key === key);
}

/** Redis Stream ids (the feed's event ids) compare as (ms, seq) pairs. */
function idAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

test('an update arrives within 2 s, and Last-Event-ID resumes with exactly what was missed', {
  timeout: 60_000,
}, async () => {
  const live = `${query.url}/v1/streams/ecommerce/live`;
  const first = await openSse(live);
  await first.next((e) => e.event === 'ready', 5_000);
  // Both LiveA sales carry this one event time, so they count in one window (a minute boundary
  // passing mid-test would otherwise split them into two windows of count 1 each).
  const time = Date.now();
  await postTransactions(ingest.url, [sale('LiveA', time)]);
  const acked = performance.now();
  const seen = await first.next((e) => updateOf(e, 'LiveA') !== undefined, 5_000);
  const latency = performance.now() - acked;
  assert.ok(latency < 2_000, `the update took ${Math.round(latency)} ms`);
  const window = updateOf(seen, 'LiveA');
  assert.equal(window?.values.count, 1);
  const seenId = seen.id;
  assert.ok(seenId !== undefined);
  first.close();

  // While no client listens, another window changes and LiveA's changes again (on time, or as an
  // amendment within the allowed lateness if its window closed meanwhile: count 2 either way).
  await postTransactions(ingest.url, [sale('LiveB'), sale('LiveA', time)]);
  await waitFor(
    async () => {
      const rows = await p.sql<
        { key: string; c: number }[]
      >`select key, (values->>'count')::int as c from windows where key in ('LiveA', 'LiveB')`;
      const count = (key: string) => rows.filter((r) => r.key === key).reduce((s, r) => s + r.c, 0);
      return count('LiveA') === 2 && count('LiveB') === 1 ? true : undefined;
    },
    { timeoutMs: 20_000, what: 'LiveA twice and LiveB once in PostgreSQL' },
  );
  const resumed = await openSse(live, { 'last-event-id': seenId });
  const b = await resumed.next((e) => updateOf(e, 'LiveB') !== undefined, 5_000);
  assert.equal(updateOf(b, 'LiveB')?.values.count, 1);
  await resumed.next((e) => {
    const a = updateOf(e, 'LiveA');
    return a?.window_start === window?.window_start && a?.values.count === 2;
  }, 5_000);
  // Exactly what was missed: every event after the id, nothing from before it again (LiveA's
  // first update is not replayed), and no gap.
  const windowEvents = resumed.events.filter((e) => e.event === 'windows');
  assert.deepEqual(
    windowEvents.filter((e) => e.id === undefined || !idAfter(e.id, seenId)).map((e) => e.id),
    [],
  );
  assert.ok(!resumed.events.some((e) => e.event === 'gap'));
  resumed.close();
});

interface WindowRow {
  window_start: string;
  key: string | null;
  values: Record<string, number | null>;
  status: string;
}

interface Health {
  per_tenant: { events_per_second: number | null; quality_score: number | null };
  /** Present here: with auth off every request holds every scope (the operator's view). */
  per_stream: {
    partitions: number;
    partitions_reporting: number;
    events_in_per_second: number | null;
    events_processed_per_second: number | null;
    consumer_lag: number | null;
    watermark_lag_ms: number | null;
    processed: number;
    late: number;
    dlq: number;
  };
}

const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

/** What the health row shows: each figure's raw value (data-value) and text. */
async function shownHealth(page: Page): Promise<Record<string, { value: string; text: string }>> {
  const outputs = await page
    .locator('#health output')
    .evaluateAll((os) =>
      os.map((o) => [o.id, o.getAttribute('data-value') ?? '', o.textContent ?? ''] as const),
    );
  return Object.fromEntries(outputs.map(([id, value, text]) => [id, { value, text }]));
}

/**
 * Runs `expression` in the page (a string: this file is compiled without the DOM's types, and the
 * page's own code is what is tested, not this).
 */
const inPage = <T>(page: Page, expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

/** The figures the API answers, by the health row's element ids. */
const healthFigures = (h: Health): Record<string, number | null> => ({
  'h-tenant-rate': h.per_tenant.events_per_second,
  'h-quality': h.per_tenant.quality_score,
  'h-in': h.per_stream.events_in_per_second,
  'h-processed': h.per_stream.events_processed_per_second,
  'h-consumer-lag': h.per_stream.consumer_lag,
  'h-watermark-lag': h.per_stream.watermark_lag_ms,
  'h-late': h.per_stream.late,
  'h-dlq': h.per_stream.dlq,
});

/** Figures that move with the clock (a rate over time since, a lag behind now) match within 10 %. */
const CLOCKED = new Set(['h-tenant-rate', 'h-watermark-lag']);

function healthMatches(shown: Record<string, { value: string }>, api: Health): string[] {
  const wrong: string[] = [];
  for (const [id, expected] of Object.entries(healthFigures(api))) {
    const raw = shown[id]?.value;
    const value = raw === undefined || raw === '' ? null : Number(raw);
    const same =
      value === expected ||
      (CLOCKED.has(id) &&
        value !== null &&
        expected !== null &&
        Math.abs(value - expected) <= 0.1 * expected + 2_000 * (id === 'h-watermark-lag' ? 1 : 0));
    if (!same) wrong.push(`${id}: shown ${raw}, API ${expected}`);
  }
  return wrong;
}

/** A compact label read back as a number: 12.5K -> 12500, 1.2M, 850.00 -> 850. */
function labelValue(label: string): number {
  const match = /^(-?[\d.]+)([KMB]?)$/.exec(label.replaceAll(',', ''));
  assert.ok(match, `"${label}" is a number with an optional K, M or B`);
  const scale = { '': 1, K: 1e3, M: 1e6, B: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * scale;
}

/** The dashboard's own rule for an amount (the test's copy, to check the page against). */
const amount = (v: number) =>
  Math.abs(v) < 1_000
    ? v.toFixed(2)
    : new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(v);

/** Each y-axis label's width in the axis font (measured in the page) against the axis's width. */
function axisFits(page: Page) {
  return inPage<{ labels: string[]; widest: number; axis: number }>(
    page,
    `(() => {
      const chart = document.getElementById('chart');
      const labels = JSON.parse(chart.dataset.yLabels ?? '[]');
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = '12px system-ui, sans-serif';
      const widest = Math.max(...labels.map((l) => ctx.measureText(l).width));
      return { labels, widest, axis: Number(chart.dataset.yAxisWidth ?? 0) };
    })()`,
  );
}

test('the dashboard in headless Chromium: health row, both charts and the table filled, updated live; a phone fits', {
  timeout: 120_000,
}, async () => {
  // A few minutes of demo data, out of order within the watermark.
  const now = Date.now();
  const demo = Array.from({ length: 300 }, (_, i) =>
    makeTransaction(random, `demo-${i}`, now - 6 * 60_000 + Math.floor(random() * 6 * 60_000)),
  );
  for (let i = 0; i < demo.length; i += 100) await postTransactions(ingest.url, demo.slice(i, i + 100));
  await waitFor(
    async () => {
      const [row] = await p.sql<
        { n: string | null }[]
      >`select sum((values->>'count')::int)::text as n from windows where key not like 'Live%'`;
      return Number(row?.n ?? 0) === demo.length ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'the demo data in its windows' },
  );

  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${query.url}/?stream=ecommerce`);
    await page.waitForSelector('#live[data-state="open"]', { timeout: 15_000 });
    await page.waitForSelector('#chart canvas', { timeout: 15_000 });
    const points = Number(await page.getAttribute('#chart', 'data-points'));
    assert.ok(points >= 6, `the chart holds ${points} windows`);
    const rows = await page.locator('#windows tbody tr').count();
    assert.ok(rows >= 6, `the table shows ${rows} windows`);
    const statuses = await page
      .locator('#windows tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
    assert.ok(statuses.every((s) => s === 'provisional' || s === 'settled' || s === 'amended'));

    // The health row is what the API answers (the processors' partition_health reports), once the
    // processor's reports (every 2 s) count every record sent so far and it has caught up.
    await page.waitForSelector('#health[data-as-of]', { timeout: 10_000 });
    await waitFor(
      async () => {
        const h = await getJson<Health>(`${query.url}/v1/streams/ecommerce/health`);
        return h.per_stream.processed >= sequence + demo.length && h.per_stream.consumer_lag === 0
          ? true
          : undefined;
      },
      { timeoutMs: 20_000, what: 'the reports to count every record sent' },
    );
    let api: Health | undefined;
    let wrong: string[] = [];
    await waitFor(
      async () => {
        api = await getJson<Health>(`${query.url}/v1/streams/ecommerce/health`);
        wrong = healthMatches(await shownHealth(page), api);
        return wrong.length === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, what: `the health row to match the API (${wrong.join('; ')})` },
    ).catch(() => assert.fail(`the health row differs from the API: ${wrong.join('; ')}`));
    assert.ok(api !== undefined);
    assert.equal(api.per_stream.partitions_reporting, api.per_stream.partitions, 'every partition reports');
    assert.equal(api.per_stream.processed, sequence + demo.length, 'every record sent, once');
    assert.equal(api.per_stream.consumer_lag, 0, 'caught up');
    const shown = await shownHealth(page);
    assert.equal(shown['h-consumer-lag']?.text, '0');
    assert.equal(shown['h-dlq']?.text, String(api.per_stream.dlq));
    assert.equal(shown['h-quality']?.text, 'no rules', 'ecommerce declares no rules: no score');
    // Auth off: every scope, so the operator's stream-wide group shows and its note does not.
    assert.equal(await page.isVisible('#h-stream'), true);
    assert.equal(await page.isHidden('#h-stream-absent'), true);
    // Live: health events keep coming over the same connection (one every 5 s).
    const healthBefore = Number((await page.getAttribute('#health', 'data-updates')) ?? 0);
    await waitFor(
      async () =>
        Number((await page.getAttribute('#health', 'data-updates')) ?? 0) > healthBefore ? true : undefined,
      { timeoutMs: 12_000, what: 'a live health event' },
    );

    // The chart: y labels read back reach the data's peak and fit the axis; x labels are times.
    const windows = (
      await getJson<{ data: WindowRow[] }>(
        `${query.url}/v1/streams/ecommerce/windows?window=1m&from=-1h&limit=5000`,
      )
    ).data;
    const peak = Math.max(...windows.map((w) => w.values.sum_amount ?? 0));
    assert.equal(await page.textContent('#chart-peak'), `· peak ${amount(peak)}`);
    const fit = await axisFits(page);
    const ticks = fit.labels.map(labelValue);
    assert.ok(ticks.length >= 2, `y labels: ${fit.labels.join(', ')}`);
    assert.ok(
      ticks.every((t, i) => i === 0 || t > (ticks[i - 1] ?? 0)),
      `rising: ${fit.labels.join(', ')}`,
    );
    const top = Math.max(...ticks);
    assert.ok(top >= peak * 0.5 && top <= peak * 1.1, `the top label ${top} is near the peak ${peak}`);
    assert.ok(fit.widest + 10 <= fit.axis, `labels ${fit.widest} px wide fit the ${fit.axis} px axis`);
    const xLabels = JSON.parse((await page.getAttribute('#chart', 'data-x-labels')) ?? '[]') as string[];
    assert.ok(xLabels.length >= 2 && xLabels.every((l) => /\d{2}:\d{2}$/.test(l)), `x labels: ${xLabels}`);
    assert.equal(new Set(xLabels).size, xLabels.length, `no time twice: ${xLabels}`);

    // The bars: the latest settled window, each key's value as the API has it, nothing cut.
    // The latest start at which no key's row is provisional.
    const open = new Set(windows.filter((w) => w.status === 'provisional').map((w) => w.window_start));
    const settledStart = windows
      .map((w) => w.window_start)
      .filter((start) => !open.has(start))
      .sort()
      .at(-1);
    assert.ok(settledStart !== undefined, 'a settled window exists');
    assert.equal(await page.getAttribute('#bars', 'data-window-start'), settledStart);
    const bars = await page.locator('#bars li').evaluateAll((lis) =>
      lis.map((li) => {
        const value = li.querySelector('.bar-value');
        return {
          key: li.getAttribute('data-key'),
          value: Number(li.getAttribute('data-value')),
          text: value?.textContent,
          cut: value === null || value.scrollWidth > value.clientWidth,
        };
      }),
    );
    const expectedBars = windows
      .filter((w) => w.window_start === settledStart)
      .map((w) => ({ key: w.key ?? '(all)', value: w.values.sum_amount ?? 0 }))
      .sort((a, b) => b.value - a.value)
      .slice(0, 12);
    assert.deepEqual(
      bars.map((b) => ({ key: b.key, value: b.value })),
      expectedBars,
    );
    assert.ok(
      bars.every((b) => !b.cut && b.text === amount(b.value)),
      JSON.stringify(bars),
    );

    const before = Number(await page.textContent('#live-updates'));
    await postTransactions(ingest.url, [sale('Browser')]);
    await page.waitForSelector('#windows tbody tr td:text-is("Browser")', { timeout: 10_000 });
    const after = Number(await page.textContent('#live-updates'));
    assert.ok(after > before, 'the update came over SSE, without a reload');
    await screenshot(page, 'dashboard');

    // A phone: everything within the screen's width, the charts drawn for it.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    phone.on('pageerror', (error) => errors.push(error.message));
    await phone.goto(`${query.url}/?stream=ecommerce`);
    await phone.waitForSelector('#live[data-state="open"]', { timeout: 15_000 });
    await phone.waitForSelector('#chart canvas', { timeout: 15_000 });
    await phone.waitForSelector('#health[data-as-of]', { timeout: 10_000 });
    const widths = await inPage<{ scroll: number; inner: number; chart: number }>(
      phone,
      `({
        scroll: document.scrollingElement.scrollWidth,
        inner: window.innerWidth,
        chart: document.querySelector('#chart .uplot').getBoundingClientRect().right,
      })`,
    );
    assert.ok(
      widths.scroll <= widths.inner,
      `the page is ${widths.scroll} px wide on a ${widths.inner} px screen`,
    );
    assert.ok(widths.chart <= widths.inner, `the chart ends at ${widths.chart} px`);
    const phoneFit = await axisFits(phone);
    assert.ok(phoneFit.widest + 10 <= phoneFit.axis, 'the y labels fit on a phone too');
    await screenshot(phone, 'dashboard-phone');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a stream with data-quality rules: the health row shows its score as the API has it', {
  timeout: 90_000,
}, async () => {
  // 40 readings of the last few minutes, 4 of them implausible (the `plausible_value` rule).
  const now = Date.now();
  const readings = Array.from({ length: 40 }, (_, i) =>
    makeReading(random, `quality-${i}`, now - 4 * 60_000 + i * 5_000, i % 10 === 0),
  );
  await postEvents(
    ingest.url,
    readings.map((data) => ({ stream: 'equipment-metrics', data })),
  );
  let api: Health | undefined;
  await waitFor(
    async () => {
      api = await getJson<Health>(`${query.url}/v1/streams/equipment-metrics/health`);
      return api.per_tenant.quality_score === 36 / 40 ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'the readings judged in their windows' },
  );
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${query.url}/?stream=equipment-metrics`);
    await page.waitForSelector('#health[data-as-of]', { timeout: 15_000 });
    await page.waitForSelector('#chart canvas', { timeout: 15_000 });
    assert.equal(await page.getAttribute('#h-quality', 'data-value'), String(36 / 40));
    assert.equal(await page.textContent('#h-quality'), '90.0 %');
    // Counts on the axis are whole numbers, compact.
    const fit = await axisFits(page);
    assert.ok(
      fit.labels.every((l) => /^\d+(\.\d+)?[KM]?$/.test(l)),
      `count labels: ${fit.labels.join(', ')}`,
    );
    assert.ok(fit.widest + 10 <= fit.axis);
    const xLabels = JSON.parse((await page.getAttribute('#chart', 'data-x-labels')) ?? '[]') as string[];
    assert.equal(new Set(xLabels).size, xLabels.length, `no time twice: ${xLabels}`);
    await screenshot(page, 'dashboard-quality');
  } finally {
    await browser.close();
  }
});
