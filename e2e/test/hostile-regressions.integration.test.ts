// Named regressions of issue 20's findings, end to end through the real edge (Deno), ingest, the
// processor and PostgreSQL: one event must not blind (year 9999) or stall (NUL key) a partition,
// and seed 004's producer payload (a naive time) is accepted as UTC for ecommerce.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { murmur2 } from '@platformatic/kafka';
import { stackEnv, uniqueName, waitFor } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { endOffsets } from './hostile-ledger.ts';

const PARTITIONS = 6;
let pipeline: TestPipeline;
let edge: ServiceHandle;
let ingest: ServiceHandle;

before(async () => {
  pipeline = await testPipeline('hostile_regressions', { SLUICE_TICK_MS: '250' });
  ingest = await pipeline.start('ingest');
  await pipeline.start('processor');
  edge = await pipeline.start('edge', { SLUICE_INGEST_URL: ingest.url }, 'deno');
});

after(async () => {
  await pipeline.close();
});

const partitionOf = (key: string) => (murmur2(Buffer.from(key)) & 0x7fffffff) % PARTITIONS;

function transaction(id: string, category: string, timestamp: string | number) {
  return {
    transaction_id: id,
    user_id: 'user_1',
    product_category: category,
    product_name: 'Novel',
    amount: 12.5,
    timestamp,
    payment_method: 'paypal',
  };
}

async function post(
  url: string,
  events: unknown[],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events.map((data) => ({ stream: 'ecommerce', data }))),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Sends `n` ordinary events of `category` in one minute and waits for their window to count them
 * all; what went wrong, or undefined.
 */
async function partitionKeepsWindowing(category: string, n: number): Promise<string | undefined> {
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const tag = uniqueName('ok');
  const events = Array.from({ length: n }, (_, i) =>
    transaction(`${tag}-${i}`, category, new Date(minute + i * 100).toISOString()),
  );
  const sent = await post(edge.url, events);
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal(sent.body.accepted, n);
  let seen: unknown = 'no row';
  const counted = await waitFor(
    async () => {
      const rows = await pipeline.sql<{ n: string }[]>`
        SELECT ("values" ->> 'count') AS n FROM windows
        WHERE stream = 'ecommerce' AND "window" = '1m' AND key = ${category} AND window_start = ${new Date(minute)}`;
      seen = rows.map((r) => r.n);
      return rows.length === 1 && Number(rows[0]?.n) === n ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `${n} ${category} events in their window` },
  ).catch(() => undefined);
  return counted
    ? undefined
    : `the ${category} window of ${new Date(minute).toISOString()} holds ${JSON.stringify(seen)}, expected [${n}]`;
}

async function watermarkOf(partition: number): Promise<number | null> {
  const rows = await pipeline.sql<{ watermark: string | null }[]>`
    SELECT watermark FROM source_offsets WHERE topic = ${`${pipeline.iso.topicPrefix}ecommerce`} AND "partition" = ${partition}`;
  const value = rows[0]?.watermark;
  return value === undefined || value === null ? null : Number(value);
}

test('NUL key', { timeout: 90_000 }, async () => {
  // Before the fix: 202, then the processor's batch failed in PostgreSQL (unsupported Unicode
  // escape sequence) and was retried for ever, stalling the partition.
  const poisoned = 'Sp\u0000orts';
  const answer = await post(edge.url, [transaction(uniqueName('nul'), poisoned, new Date().toISOString())]);
  const problems: string[] = [];
  const details = (
    answer.body.error as { details?: { rejected?: { index: number; errors: { path: string }[] }[] } }
  )?.details;
  if (answer.status !== 400)
    problems.push(`a NUL in product_category answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  else if (!details?.rejected?.[0]?.errors.some((e) => e.path.includes('product_category')))
    problems.push(`no per-event error names product_category: ${JSON.stringify(answer.body)}`);
  // Whatever the answer, the partition that key hashes to keeps going: a neighbour on it is windowed exactly.
  const partition = partitionOf(poisoned);
  let neighbour = '';
  for (let i = 0; neighbour === ''; i++)
    if (partitionOf(`Sports-${i}`) === partition) neighbour = `Sports-${i}`;
  const stalled = await partitionKeepsWindowing(neighbour, 20);
  if (stalled !== undefined) problems.push(stalled);
  assert.deepEqual(problems, []);
});

test('year-9999 event', { timeout: 90_000 }, async () => {
  // Before the fix: 202, the partition's watermark jumped to year 9999, and every later event of
  // the partition (the whole Books category) went to ecommerce.late.
  const nul = partitionOf('Sp\u0000orts');
  const category =
    ['Books', 'Beauty', 'Clothing', 'Electronics'].find((c) => partitionOf(c) !== nul) ?? 'Books';
  const partition = partitionOf(category);
  const answer = await post(edge.url, [transaction(uniqueName('y9999'), category, '9999-12-31T23:59:59Z')]);
  const problems: string[] = [];
  if (answer.status !== 400)
    problems.push(`an event time in year 9999 answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  const blinded = await partitionKeepsWindowing(category, 20);
  if (blinded !== undefined) problems.push(blinded);
  const watermark = await watermarkOf(partition);
  if (watermark === null || watermark > Date.now() + 3_600_000)
    problems.push(
      `the ${category} partition's watermark is ${watermark === null ? 'none' : new Date(watermark).toISOString()}`,
    );
  assert.deepEqual(problems, []);
});

test('seed 004 payload', { timeout: 60_000 }, async () => {
  // Seed 004's producer sends a naive time; ecommerce reads it as UTC. Before the fix: 400.
  const tag = uniqueName('seed004');
  const payload = (id: string) => ({
    transaction_id: id,
    user_id: 'user_42',
    product_category: 'Electronics',
    product_name: 'Laptop',
    amount: 999.99,
    timestamp: '2025-11-29 20:04:32',
    payment_method: 'credit_card',
  });
  for (const [via, url] of [
    ['edge', edge.url],
    ['ingest', ingest.url],
  ] as const) {
    const answer = await post(url, [payload(`${tag}-${via}`)]);
    assert.equal(answer.status, 202, `seed 004's payload through ${via}: ${JSON.stringify(answer.body)}`);
    assert.deepEqual(answer.body.ids, [`${tag}-${via}`]);
  }
  const topic = `${pipeline.iso.topicPrefix}ecommerce`;
  const { kafkaBrokers } = stackEnv();
  const records = await readTopic(kafkaBrokers, topic, await endOffsets(kafkaBrokers, topic), 20_000);
  const ours = records
    .map((r) => JSON.parse(r.value) as { id: string; time: number })
    .filter((e) => e.id.startsWith(tag));
  assert.equal(ours.length, 2);
  for (const event of ours)
    assert.equal(event.time, Date.UTC(2025, 10, 29, 20, 4, 32), `${event.id} read as UTC`);
});
