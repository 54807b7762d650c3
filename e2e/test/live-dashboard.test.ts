// Live updates and the dashboard, with ingest, the processor and query (on Bun) on the real stack:
// an SSE client gets the update of an event sent after it connected within 2 s and, reconnecting
// with Last-Event-ID, exactly the updates it missed; then headless Chromium opens the dashboard on
// a few minutes of demo data, sees the chart and the table filled, sees a new window arrive live
// without a reload, and saves a screenshot (.artifacts/dashboard.png).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EventSourceMessage } from 'eventsource-parser';
import { launchBrowser, screenshot } from '../../shared/test/browser.ts';
import { waitFor } from '../../shared/test/harness.ts';
import { postTransactions } from '../../shared/test/ingest-client.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { openSse } from '../../shared/test/sse-client.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

let p: TestPipeline;
let ingest: ServiceHandle;
let query: ServiceHandle;
const random = seededRandom(21);
let sequence = 0;

before(async () => {
  p = await testPipeline('live', { SLUICE_STREAMS: 'ecommerce' });
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
  values: { count: number };
}

/** The update of `key` in a `windows` event (one per processor commit), if it holds one. */
function updateOf(event: EventSourceMessage, key: string): Update | undefined {
  if (event.event !== 'windows') return undefined;
  return (JSON.parse(event.data) as Update[]).find((u) => u.key === key);
}

test('an update arrives within 2 s, and Last-Event-ID resumes with exactly what was missed', {
  timeout: 60_000,
}, async () => {
  const live = `${query.url}/v1/streams/ecommerce/live`;
  const first = await openSse(live);
  await first.next((e) => e.event === 'ready', 5_000);
  await postTransactions(ingest.url, [sale('LiveA')]);
  const acked = performance.now();
  const seen = await first.next((e) => updateOf(e, 'LiveA') !== undefined, 5_000);
  const latency = performance.now() - acked;
  assert.ok(latency < 2_000, `the update took ${Math.round(latency)} ms`);
  assert.equal(updateOf(seen, 'LiveA')?.values.count, 1);
  assert.ok(seen.id !== undefined);
  first.close();

  // While no client listens, another window changes and LiveA's changes again.
  await postTransactions(ingest.url, [sale('LiveB'), sale('LiveA')]);
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
  const resumed = await openSse(live, { 'last-event-id': seen.id ?? '' });
  const b = await resumed.next((e) => updateOf(e, 'LiveB') !== undefined, 5_000);
  assert.equal(updateOf(b, 'LiveB')?.values.count, 1);
  await resumed.next((e) => updateOf(e, 'LiveA')?.values.count === 2, 5_000);
  // Nothing from before the id comes again: LiveA's first update (count 1) is not replayed.
  const replayed = resumed.events.filter((e) => updateOf(e, 'LiveA')?.values.count === 1);
  assert.deepEqual(replayed, []);
  assert.ok(!resumed.events.some((e) => e.event === 'gap'));
  resumed.close();
});

test('the dashboard in headless Chromium: chart and table filled, a new window arrives live', {
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
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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

    const before = Number(await page.textContent('#live-updates'));
    await postTransactions(ingest.url, [sale('Browser')]);
    await page.waitForSelector('#windows tbody tr td:text-is("Browser")', { timeout: 10_000 });
    const after = Number(await page.textContent('#live-updates'));
    assert.ok(after > before, 'the update came over SSE, without a reload');
    await screenshot(page, 'dashboard');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
