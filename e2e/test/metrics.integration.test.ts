// Every service's /metrics parses as Prometheus text, and its counters move by exactly what a
// known workload through the edge (on Deno) should move them: events accepted and rejected by
// reason at the edge and ingest, requests by route and status, micro-batches forwarded, records
// processed and windows written by the processor, and the query's cache misses and hits.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../shared/test/harness.ts';
import type { Scrape } from '../../shared/test/prometheus.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

let p: TestPipeline;
let edge: ServiceHandle;
let ingest: ServiceHandle;
let processor: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  p = await testPipeline('metrics', { SLUICE_STREAMS: 'ecommerce' });
  ingest = await p.start('ingest');
  processor = await p.start('processor');
  query = await p.start('query');
  edge = await p.start('edge', { SLUICE_INGEST_URL: ingest.url });
});

after(() => p.close());

async function post(body: unknown[], status: number): Promise<void> {
  const response = await fetch(`${edge.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, status, await response.text());
}

const scrapeAll = async () => ({
  edge: await scrape(edge.url),
  ingest: await scrape(ingest.url),
  processor: await scrape(processor.url),
  query: await scrape(query.url),
});

/** How far a metric moved between two scrapes. */
const moved = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  after.sum(name, labels) - before.sum(name, labels);

test('counters on every service move by the workload', { timeout: 120_000 }, async () => {
  const start = await scrapeAll();
  const random = seededRandom(5);
  const base = Date.now() - 4 * 60_000;
  const valid = Array.from({ length: 120 }, (_, i) =>
    envelope(makeTransaction(random, `metrics-${i}`, base + i * 1_000)),
  );
  const invalid = (i: number) => ({ stream: 'ecommerce', data: { transaction_id: `bad-${i}`, amount: 'x' } });
  await post(valid.slice(0, 100), 202);
  await post([...valid.slice(100), ...[0, 1, 2, 3, 4].map(invalid)], 202);
  await post([5, 6, 7].map(invalid), 400);

  await waitFor(
    async () => {
      const now = await scrape(processor.url);
      const lag = now.sum('sluice_consumer_lag');
      return moved(start.processor, now, 'sluice_processor_events_total', { outcome: 'processed' }) === 120 &&
        lag === 0
        ? true
        : undefined;
    },
    { timeoutMs: 60_000, what: '120 events processed and the consumer lag back at 0' },
  );
  const range = `from=${base - 60_000}&to=${base + 5 * 60_000}`;
  for (let i = 0; i < 2; i += 1) {
    const answer = await fetch(`${query.url}/v1/streams/ecommerce/windows?${range}`);
    assert.equal(answer.status, 200);
    await answer.body?.cancel();
  }

  const end = await scrapeAll();
  // The edge: what it accepted (acked by ingest), what it rejected, per request status.
  assert.equal(moved(start.edge, end.edge, 'sluice_events_accepted_total', { stream: 'ecommerce' }), 120);
  assert.equal(
    moved(start.edge, end.edge, 'sluice_events_rejected_total', { reason: 'validation_failed' }),
    8,
  );
  const edgeRoute = { route: '/v1/events', method: 'POST' };
  assert.equal(moved(start.edge, end.edge, 'sluice_http_requests_total', { ...edgeRoute, status: '202' }), 2);
  assert.equal(moved(start.edge, end.edge, 'sluice_http_requests_total', { ...edgeRoute, status: '400' }), 1);
  // Every accepted event went to ingest in some micro-batch, each batch timed.
  const batches = (s: Scrape) => s.histogram('sluice_forward_batch_events');
  assert.equal(batches(end.edge).sum - batches(start.edge).sum, 120);
  const forwards = batches(end.edge).count - batches(start.edge).count;
  assert.ok(forwards >= 2);
  const timed = (s: Scrape) => s.histogram('sluice_forward_latency_seconds', { outcome: 'ok' }).count;
  assert.equal(timed(end.edge) - timed(start.edge), forwards);
  // Ingest saw only what the edge let through.
  assert.equal(moved(start.ingest, end.ingest, 'sluice_events_accepted_total', { stream: 'ecommerce' }), 120);
  assert.equal(moved(start.ingest, end.ingest, 'sluice_events_rejected_total'), 0);
  const produced = (s: Scrape) => s.histogram('sluice_produce_latency_seconds', { outcome: 'ok' }).count;
  assert.equal(produced(end.ingest) - produced(start.ingest), forwards);
  // The processor: every record processed once, windows written, lag drained, watermark reported.
  assert.equal(moved(start.processor, end.processor, 'sluice_processor_events_total', { outcome: 'dlq' }), 0);
  assert.ok(moved(start.processor, end.processor, 'sluice_window_emits_total', { stream: 'ecommerce' }) >= 4);
  const sinks = (s: Scrape) => s.histogram('sluice_sink_latency_seconds', { outcome: 'ok' }).count;
  assert.ok(sinks(end.processor) - sinks(start.processor) >= 1);
  assert.ok(end.processor.names.has('sluice_watermark_lag_seconds'));
  assert.equal(end.processor.sum('sluice_consumer_lag'), 0);
  // The query: one miss fills the cache, the same request then hits it.
  const cache = 'sluice_query_cache_requests_total';
  assert.equal(moved(start.query, end.query, cache, { result: 'miss' }), 1);
  assert.equal(moved(start.query, end.query, cache, { result: 'hit' }), 1);
  const windowsRoute = { route: '/v1/streams/:stream/windows', status: '200' };
  assert.equal(moved(start.query, end.query, 'sluice_http_requests_total', windowsRoute), 2);
});
