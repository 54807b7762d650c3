// Issue 23, item 1: a person follows a window to its trace. An event sent to the edge (Deno) with a
// sampled traceparent lands in a window row; headless Chromium opens the dashboard, takes that
// row's trace link and, in the real Jaeger UI the stack runs (not its "not the Jaeger UI" page),
// sees the trace with spans of sluice-edge, sluice-ingest and sluice-processor. The screenshot is
// kept as .artifacts/jaeger-trace.png.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot } from '../../shared/test/browser.ts';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

const stack = stackEnv();
let p: TestPipeline;
let edge: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  // Only the client's sampled traceparent makes a trace: the one the test follows.
  p = await testPipeline('jaegerui', { SLUICE_STREAMS: 'ecommerce', SLUICE_TRACE_SAMPLE_RATIO: '0' });
  const ingest = await p.start('ingest');
  await p.start('processor');
  query = await p.start('query', { SLUICE_JAEGER_UI_URL: stack.jaegerQueryUrl });
  edge = await p.start('edge', { SLUICE_INGEST_URL: ingest.url });
});

after(() => p.close());

interface JaegerTrace {
  data?: { processes?: Record<string, { serviceName: string }> }[];
}

test('the Jaeger UI is the real one', async () => {
  const page = await fetch(`${stack.jaegerQueryUrl}/search`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>Jaeger UI<\/title>/);
  assert.doesNotMatch(html, /not the Jaeger UI you are looking for/);
});

test("a window row's trace link opens its trace in the Jaeger UI, through edge, ingest and processor", {
  timeout: 120_000,
}, async () => {
  const traceId = randomBytes(16).toString('hex');
  const category = `JaegerUi${traceId.slice(0, 6)}`;
  const sale = {
    ...makeTransaction(seededRandom(23), `jaeger-ui-${traceId.slice(0, 8)}`, Date.now()),
    product_category: category,
  };
  const sent = await fetch(`${edge.url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    },
    body: JSON.stringify(envelope(sale)),
  });
  assert.equal(sent.status, 202, await sent.text());
  await waitFor(
    async () => {
      const rows = await p.sql<
        { trace_id: string | null }[]
      >`select trace_id from windows where key = ${category}`;
      return rows[0]?.trace_id === traceId ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'the window row naming the trace' },
  );
  // Deno exports the edge's spans after the response: the trace is whole once all three sent theirs.
  const services = ['sluice-edge', 'sluice-ingest', 'sluice-processor'];
  await waitFor(
    async () => {
      const answer = await fetch(`${stack.jaegerQueryUrl}/api/traces/${traceId}`);
      if (answer.status !== 200) return undefined;
      const body = (await answer.json()) as JaegerTrace;
      const names = new Set(Object.values(body.data?.[0]?.processes ?? {}).map((p) => p.serviceName));
      return services.every((s) => names.has(s)) ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `trace ${traceId} with the three services in Jaeger` },
  );

  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${query.url}/`);
    const link = page.locator(`#windows a[href$="/trace/${traceId}"]`);
    await link.waitFor({ timeout: 30_000 });
    const href = await link.getAttribute('href');
    assert.equal(href, `${stack.jaegerQueryUrl}/trace/${traceId}`);
    // The link opens a new tab (target=_blank): follow it there as a person's click would.
    const [jaeger] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await jaeger.setViewportSize({ width: 1400, height: 1000 });
    await jaeger.waitForLoadState();
    assert.equal(jaeger.url(), `${stack.jaegerQueryUrl}/trace/${traceId}`);
    // The trace page lists each span's service in its timeline.
    for (const service of services) {
      await jaeger.getByText(service, { exact: true }).first().waitFor({ timeout: 30_000 });
    }
    assert.ok((await jaeger.title()).length > 0);
    await screenshot(jaeger, 'jaeger-trace');
  } finally {
    await browser.close();
  }
});
