// The watermark lag gauge is wall clock minus the partition's watermark at every tick, not only
// when a batch commits: a partition whose watermark stands still shows a lag that grows, which is
// what the "watermark stalled" alert (deploy/monitoring/prometheus/alerts.yml) reads. With the old
// commit-time gauge, a processor whose commits stopped kept reporting its last, healthy value.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { directProducer } from './direct-produce.ts';

const stack = stackEnv();
let iso: Isolation;
let processor: ServiceHandle;

before(async () => {
  iso = await isolate('wmlag');
  processor = await startService('processor', {
    ...iso.env,
    SLUICE_STREAMS: 'ecommerce',
    SLUICE_TICK_MS: '250',
    // No idle advance during the test: the watermark moves only with records, so after the last
    // one it stands still and nothing commits.
    SLUICE_IDLE_TIMEOUT_MS: '600000',
  });
});

after(async () => {
  await processor.stop('SIGKILL');
  await iso.cleanup();
});

test('the watermark lag grows while the watermark stands still', { timeout: 90_000 }, async () => {
  const random = seededRandom(23);
  const base = Date.now() - 10 * 60_000;
  const sent = Array.from({ length: 40 }, (_, i) => makeTransaction(random, `wmlag-${i}`, base + i * 1_000));
  const { produce, close } = await directProducer(
    stack.kafkaBrokers,
    topicNames('ecommerce', iso.topicPrefix).events,
  );
  try {
    await produce(sent);
  } finally {
    await close();
  }
  // The oldest partition's lag, once every record is processed (several partitions hold some).
  const lagOf = async () => {
    const metrics = await scrape(processor.url);
    if (metrics.sum('sluice_processor_events_total', { outcome: 'processed' }) !== sent.length)
      return undefined;
    const text = await (await fetch(`${processor.url}/metrics`)).text();
    const values = [...text.matchAll(/^sluice_watermark_lag_seconds\{[^}]*\} (\S+)$/gm)].map((m) =>
      Number(m[1]),
    );
    return values.length > 0 ? Math.max(...values) : undefined;
  };
  const first = await waitFor(lagOf, {
    timeoutMs: 60_000,
    what: 'every record processed, a watermark lag reported',
  });
  // The watermark trails the newest event time by the stream's 1-minute bound, itself ~10 minutes old.
  assert.ok(first > 9 * 60 && first < 12 * 60, `watermark lag ${first} s`);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const second = await lagOf();
  assert.ok(second !== undefined);
  // No commit in between (no new records, no idle advance): only the refresh moves the gauge.
  assert.ok(second - first >= 2.5, `the lag grew with the wall clock: ${first} s then ${second} s`);
});
