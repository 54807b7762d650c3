// A route recorder (requests answered before the middleware) counts what the middleware counts:
// every request by status, its latency, and the counters it adds to, whether a render comes
// within a batch, at its end or across several.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { Counter } from 'prom-client';
import { createHttpMetrics, RECORD_BATCH } from '../src/http/metrics.ts';
import { parseScrape } from './prometheus.ts';

test('a route recorder counts every request, its status and latency, at every render', async () => {
  const http = createHttpMetrics('recorder-test');
  const hits = new Counter({
    name: 'test_hits_total',
    help: 'hits',
    labelNames: ['result'],
    registers: [http.registry],
  });
  const recorder = http.recorder('/r/:id', 'GET', [{ counter: hits, labels: { result: 'hit' } }]);
  const labels = { route: '/r/:id', method: 'GET' };
  const expected = { ok: 0, notModified: 0, seconds: 0 };
  // Renders inside a batch, right at its end and after several: each sees every request so far.
  for (const n of [3, RECORD_BATCH - 3, 2 * RECORD_BATCH + 5, 0]) {
    for (let i = 0; i < n; i += 1) {
      const status = i % 7 === 0 ? 304 : 200;
      const seconds = (i % 13) / 1000;
      recorder.record(status, seconds);
      if (status === 200) expected.ok += 1;
      else expected.notModified += 1;
      expected.seconds += seconds;
    }
    const scrape = parseScrape((await http.render()).body);
    assert.equal(scrape.sum('sluice_http_requests_total', { ...labels, status: '200' }), expected.ok);
    assert.equal(
      scrape.sum('sluice_http_requests_total', { ...labels, status: '304' }),
      expected.notModified,
    );
    const latency = scrape.histogram('sluice_http_request_duration_seconds', labels);
    assert.equal(latency.count, expected.ok + expected.notModified);
    assert.ok(Math.abs(latency.sum - expected.seconds) < 1e-9);
    assert.equal(scrape.sum('test_hits_total', { result: 'hit' }), expected.ok + expected.notModified);
  }
});

/** The number of series of the request counter in a scrape. */
function requestSeries(text: string): number {
  return text.split('\n').filter((line) => line.startsWith('sluice_http_requests_total{')).length;
}

// Regression (issue 20, item 8): every made-up method (Deno's server passes any token through)
// and every unknown path made new series; label values now come from known sets.
test('made-up methods and unknown paths do not grow the number of series', async () => {
  const http = createHttpMetrics('labels-test');
  const app = new Hono();
  app.use('*', http.middleware);
  app.post('/v1/events', (c) => c.text('ok'));
  await app.request('/v1/events', { method: 'MADEUP0' });
  await app.request('/nowhere-0');
  const before = requestSeries((await http.render()).body);
  for (let i = 1; i <= 50; i += 1) {
    await app.request(`/v1/events?i=${i}`, { method: `MADEUP${i}` });
    await app.request(`/nowhere-${i}/${'x'.repeat(i)}`);
  }
  const text = (await http.render()).body;
  assert.equal(requestSeries(text), before);
  assert.match(text, /sluice_http_requests_total\{[^}]*method="OTHER"[^}]*\} 51/);
  assert.match(text, /sluice_http_requests_total\{[^}]*route="\/\*"[^}]*\} /);
});
