// `./sluice status`'s fleet table (tools/fleet/status.ts): every worker is a row, its partitions
// read as ranges per topic, and a partition whose lag is not known yet is said, not counted as 0.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkerStatus } from '../../../tools/fleet/status.ts';
import { fleetRows, partitionList, totalLag } from '../../../tools/fleet/status.ts';

const p = (topic: string, partition: number, lag: number | null = 0) => ({
  topic,
  partition,
  lag,
  watermarkLagSeconds: null,
});

test('partitions read as ranges per topic, topics in order', () => {
  assert.equal(
    partitionList([
      p('orders', 5),
      p('ecommerce', 2),
      p('ecommerce', 0),
      p('ecommerce', 1),
      p('ecommerce', 4),
    ]),
    'ecommerce 0-2,4; orders 5',
  );
  assert.equal(partitionList([]), '');
});

test('the lag sums the known partitions and counts the unknown ones apart', () => {
  assert.deepEqual(totalLag([p('a', 0, 5), p('a', 1, null), p('a', 2, 7)]), { sum: 12, unknown: 1 });
  assert.deepEqual(totalLag([]), { sum: 0, unknown: 0 });
});

test('a worker that does not answer is a row saying so', () => {
  const up: WorkerStatus = {
    runtime: 'bun 1.4.5',
    pid: 42,
    group: 'g',
    kafkaClient: 'platformatic',
    partitions: [p('ecommerce', 0, 3), p('ecommerce', 1, null)],
  };
  const rows = fleetRows([
    { url: 'http://127.0.0.1:9464', status: up },
    { url: 'http://127.0.0.1:9465', status: 'not answering (fetch failed)' },
  ]);
  assert.equal(rows.length, 3);
  assert.match(rows[1] ?? '', /bun 1\.4\.5\s+42\s+2\s+3 \(\+1 not fetched yet\)\s+ecommerce 0-1$/);
  assert.match(rows[2] ?? '', /9465.*not answering \(fetch failed\)$/);
});
