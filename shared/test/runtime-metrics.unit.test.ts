// The default runtime metrics every service exports, and what a scrape of them costs: on Bun,
// node:v8's heap statistics walk the whole heap (~160 ms for a 300 MB heap, measured; 0.04 ms on
// Node), so prom-client's per-space heap gauges made each scrape stall the event loop and took
// 14 % of a processor's CPU in `./sluice bench processor`. They are left out on Bun; the heap's
// total and used bytes (process.memoryUsage) stay.

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import v8 from 'node:v8';
import { Registry } from 'prom-client';
import { collectRuntimeMetrics } from '../src/telemetry/runtime-metrics.ts';

const original = v8.getHeapSpaceStatistics;
afterEach(() => {
  v8.getHeapSpaceStatistics = original;
});

function countingHeapSpaceReads(): { reads: number } {
  const counted = { reads: 0 };
  v8.getHeapSpaceStatistics = () => {
    counted.reads += 1;
    return original();
  };
  return counted;
}

test('on Bun a scrape never reads the heap spaces; the heap totals are still there', async () => {
  const registry = new Registry();
  collectRuntimeMetrics(registry, 'bun');
  const counted = countingHeapSpaceReads();
  const text = await registry.metrics();
  assert.equal(counted.reads, 0);
  assert.doesNotMatch(text, /nodejs_heap_space_size/);
  assert.match(text, /nodejs_heap_size_used_bytes/);
  assert.match(text, /process_cpu_seconds_total/);
});

test('on Node the heap spaces are exported, as prom-client has them', async () => {
  const registry = new Registry();
  collectRuntimeMetrics(registry, 'node');
  const counted = countingHeapSpaceReads();
  const text = await registry.metrics();
  assert.ok(counted.reads > 0);
  assert.match(text, /nodejs_heap_space_size_used_bytes/);
});
