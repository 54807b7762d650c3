// Regression (issue 20, item 5), end to end in-process: the edge's app and batcher forwarding to
// ingest's app (app.request) with a real Kafka producer, at small limits. Events queued by many
// clients, then one request at the edge's own limits: before, they met in one batch past ingest's
// limits and every client got its 413; now no client sees a 413 and every event lands in Kafka.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import { streamRegistry, topicNames } from '@sluice/shared/streams/registry';
import type { InProcessIngest } from '../../ingest/test/in-process.ts';
import { inProcessIngest } from '../../ingest/test/in-process.ts';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { createEdgeApp } from '../src/app.ts';
import { createBatcher } from '../src/batcher.ts';
import { createForward } from '../src/forward.ts';
import { NO_WEBHOOKS } from './no-webhooks.ts';

const LIMITS = { maxRequestBytes: 64 * 1024, maxEventBytes: 4 * 1024, maxEvents: 100, maxDepth: 32 };
const prefix = `${uniqueName('merged')}.`;
const random = seededRandom(5);
let n = 0;
const tx = () => makeTransaction(random, `merged-${n++}`, Date.now() - 60_000 + n);
let ingest: InProcessIngest;

before(async () => {
  ingest = await inProcessIngest({ prefix, limits: LIMITS, deliveryTimeoutMs: 10_000 });
});

after(async () => {
  await ingest.close();
});

test('merged-batch 413: queued events and a large request reach ingest in batches it accepts', async () => {
  const forward = createForward({
    ingestUrl: 'http://ingest.test',
    retries: 0,
    timeoutMs: 10_000,
    fetch: ((input: string | URL | Request, init?: RequestInit) =>
      ingest.app.request(String(input), init)) as typeof fetch,
  });
  // The edge batches at ingest's own limits (its configuration says so), 50 ms apart.
  const batcher = createBatcher(forward, {
    maxEvents: LIMITS.maxEvents,
    maxBytes: LIMITS.maxRequestBytes,
    maxWaitMs: 50,
    maxPending: 10_000,
    maxPendingPerClient: 1_000,
  });
  const http = createHttpMetrics('merged-batch-test');
  const edge = createEdgeApp({
    // Auth off: admission is never asked (no key), so it refuses loudly should it be.
    auth: { mode: 'off', verify: () => undefined },
    opsOpen: true,
    admit: () => Promise.reject(new Error('admission is not asked with auth off')),
    streams: streamRegistry(),
    limits: LIMITS,
    batcher,
    inflight: inflightLimit({
      maxRequests: 512,
      maxBytes: 64 << 20,
      unknownBodyBytes: LIMITS.maxRequestBytes,
    }),
    metrics: { http, intake: createIntakeMetrics(http.registry) },
    webhooks: NO_WEBHOOKS,
    now: Date.now,
    logError: () => {},
  });
  const post = (events: unknown[], client: string) =>
    edge.request(
      '/v1/events',
      { method: 'POST', body: JSON.stringify(events), headers: { 'content-type': 'application/json' } },
      { remoteAddress: client },
    );
  // 30 small requests queue; then one of 100 events (the edge's own limit, within its bytes).
  const small = Array.from({ length: 30 }, (_, i) => post([envelope(tx())], `10.0.0.${i}`));
  const large = Array.from({ length: 100 }, () => envelope(tx()));
  assert.ok(JSON.stringify(large).length < LIMITS.maxRequestBytes);
  const answers = await Promise.all([...small, post(large, '10.0.1.1')]);
  const statuses = answers.map((a) => a.status);
  assert.deepEqual(
    statuses.filter((s) => s !== 202),
    [],
    `statuses: ${statuses.join(',')}`,
  );
  const ids = (await Promise.all(answers.map((a) => a.json() as Promise<{ ids: string[] }>))).flatMap(
    (b) => b.ids,
  );
  assert.equal(ids.length, 130);
  const records = await readTopic(
    stackEnv().kafkaBrokers,
    topicNames('ecommerce', prefix).events,
    130,
    10_000,
  );
  assert.deepEqual(records.map((r) => (JSON.parse(r.value) as { id: string }).id).sort(), [...ids].sort());
  await batcher.close();
});
