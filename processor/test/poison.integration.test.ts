// Poison isolation against real Kafka, PostgreSQL and Redis (guarantee 4, issue 20 item 3): a
// record produced straight into Kafka (past intake) that the processor's check accepts but
// PostgreSQL refuses must not stop its partition. It goes to the DLQ with the sink's reason, every
// other event of its batch counts exactly once, and a kill -9 and restart counts nothing twice.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, test } from 'node:test';
import { topicNames } from '@sluice/shared/streams/registry';
import postgres from 'postgres';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, ROOT, startService } from '../../shared/test/services.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { directProducer } from './direct-produce.ts';
import { assertExact } from './exact.ts';

const stack = stackEnv();
let iso: Isolation;
let env: Record<string, string>;
let processor: ServiceHandle;
let sql: postgres.Sql;

beforeEach(async () => {
  iso = await isolate('poison');
  env = {
    ...iso.env,
    SLUICE_IDLE_TIMEOUT_MS: '6000',
    SLUICE_TICK_MS: '250',
    // Batches of up to 200: the poison records sit in the middle of one.
    SLUICE_MAX_BATCH: '200',
    SLUICE_SESSION_TIMEOUT_MS: '6000',
    SLUICE_STREAMS_MODULE: `${ROOT}processor/test/fixtures/long-key-stream.ts`,
    SLUICE_STREAMS: 'ecommerce',
  };
  processor = await startService('processor', env);
  sql = postgres(iso.databaseUrl, { max: 2, onnotice: () => {} });
});

afterEach(async () => {
  await processor.stop('SIGKILL');
  await sql.end();
  await iso.cleanup();
});

test('poison record produced past intake', { timeout: 240_000 }, async () => {
  const topics = topicNames('ecommerce', iso.topicPrefix);
  const base = Date.parse('2026-05-02T10:00:00Z');
  const random = seededRandom(20);
  const count = 800;
  const sent = Array.from({ length: count }, (_, i) =>
    makeTransaction(random, `poison-ok-${i}`, base + Math.floor((i / count) * 5 * 60_000)),
  );
  // A category of 3,000 characters that do not compress: the window row's primary key would pass
  // the btree index row limit, so PostgreSQL refuses the batch that holds it (SQLSTATE 54000),
  // whatever the retry. The record check accepts it (the stream allows 4,000).
  const poisons = [0, 1].map((i) => ({
    ...makeTransaction(random, `poison-bad-${i}`, base + (1 + 2 * i) * 60_000),
    product_category: randomBytes(2_250).toString('base64'),
  }));
  const [first, second] = poisons;
  assert.ok(first !== undefined && second !== undefined);
  const { produce, close } = await directProducer(stack.kafkaBrokers, topics.events);
  try {
    // Each poison in the middle of a run of normal events, over every partition.
    await produce([...sent.slice(0, 200), first, ...sent.slice(200, 400)]);
    // The first poison's partition moves past it: it is in the DLQ (the old code retried its
    // batch every second, for ever).
    await readTopic(stack.kafkaBrokers, topics.dlq, 1, 60_000).then((dead) =>
      assert.ok(dead.length >= 1, `the first poison record in the DLQ\n${processor.output().slice(-4_000)}`),
    );
    // A crash right after: whatever was in flight is replayed by the restarted worker.
    assert.equal(await processor.stop('SIGKILL'), null);
    await produce([...sent.slice(400, 600), second, ...sent.slice(600)]);
    processor = await startService('processor', env);
    await assertExact(sql, sent, base, base + 6 * 60_000, [processor]);
  } finally {
    await close();
  }

  // Both poison records are in the DLQ with the sink's reason (a crash may have left one twice).
  const dead = await readTopic(stack.kafkaBrokers, topics.dlq, 2);
  const ids = new Set(dead.map((r) => (JSON.parse(r.value) as { id: string }).id));
  assert.deepEqual([...ids].sort(), ['poison-bad-0', 'poison-bad-1']);
  for (const record of dead) {
    assert.equal(record.headers['sluice-dlq-step'], 'sink');
    assert.match(
      record.headers['sluice-dlq-reason'] ?? '',
      /index row size .* exceeds .*maximum.*SQLSTATE 54000/,
    );
    assert.equal(record.headers['sluice-source-topic'], topics.events);
  }
  const isolated = await scrape(processor.url);
  assert.ok(isolated.sum('sluice_processor_isolated_total', { step: 'sink' }) >= 1, 'isolations counted');
  // Drained: every partition's consumer lag back to 0 (the poisons' partitions went on).
  await waitFor(
    async () => {
      const metrics = await (await fetch(`${processor.url}/metrics`)).text();
      const values = [...metrics.matchAll(/^sluice_consumer_lag\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      return values.length > 0 && values.every((v) => v === 0) ? values : undefined;
    },
    { timeoutMs: 15_000, what: 'consumer lag back to 0 on every partition' },
  );
  const offsets = await sql<
    { n: string }[]
  >`select coalesce(sum(next_offset), 0)::text as n from source_offsets`;
  assert.equal(Number(offsets[0]?.n), count + poisons.length, 'every offset, the poisons included, passed');
});
