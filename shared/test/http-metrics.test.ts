// A route recorder (requests answered before the middleware) counts what the middleware counts:
// every request by status, its latency, and the counters it adds to, whether a render comes
// within a batch, at its end or across several.

import assert from 'node:assert/strict';
import { test } from 'node:test';
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
