// Ingest in-process (app.request) with a real Kafka producer: every content type, gzip, per-event
// verdicts, size limits, and what reaches Kafka is exactly what was acknowledged.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ErrorEnvelope } from '@sluice/shared/http/error-envelope';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import type { InProcessIngest } from './in-process.ts';
import { inProcessIngest } from './in-process.ts';

const env = stackEnv();
const prefix = `${uniqueName('intake')}.`;
const topic = topicNames('ecommerce', prefix).events;
const LIMITS = { maxRequestBytes: 64 * 1024, maxEventBytes: 4 * 1024, maxEvents: 500, maxDepth: 32 };
let ingest: InProcessIngest;
let app: InProcessIngest['app'];
const acked: string[] = [];
const random = seededRandom(7);
let n = 0;
const tx = () => makeTransaction(random, `intake-${n++}`, Date.parse('2026-02-01T00:00:00Z') + n * 1000);

before(async () => {
  ingest = await inProcessIngest({ prefix, limits: LIMITS, deliveryTimeoutMs: 5_000 });
  app = ingest.app;
});

after(async () => {
  await ingest.close();
});

async function post(body: string | Uint8Array, headers: Record<string, string>) {
  const response = await app.request('/v1/events', { method: 'POST', body, headers });
  const json = (await response.json()) as {
    accepted?: number;
    ids?: string[];
    rejected?: { index: number; errors: { path: string }[] }[];
  } & Partial<ErrorEnvelope>;
  if (response.status === 202) acked.push(...(json.ids ?? []));
  return { status: response.status, json, headers: response.headers };
}

test('one JSON event: 202 with its id, after Kafka acked it', async () => {
  const t = tx();
  const res = await post(JSON.stringify(envelope(t)), {
    'content-type': 'application/json',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(res.status, 202);
  assert.deepEqual(res.json, { accepted: 1, ids: [t.transaction_id], rejected: [] });
});

test('JSON array, NDJSON, CloudEvents and CloudEvents batch are all accepted', async () => {
  const array = [envelope(tx()), envelope(tx())];
  assert.equal((await post(JSON.stringify(array), { 'content-type': 'application/json' })).json.accepted, 2);
  const nd = [envelope(tx()), envelope(tx()), envelope(tx())].map((e) => JSON.stringify(e)).join('\n');
  assert.equal((await post(nd, { 'content-type': 'application/x-ndjson' })).json.accepted, 3);
  const ce = (t: ReturnType<typeof tx>) => ({
    specversion: '1.0',
    id: t.transaction_id,
    type: 'ecommerce',
    source: '/test',
    data: t,
  });
  assert.equal(
    (await post(JSON.stringify(ce(tx())), { 'content-type': 'application/cloudevents+json' })).json.accepted,
    1,
  );
  const batch = [ce(tx()), ce(tx())];
  assert.equal(
    (
      await post(JSON.stringify(batch), {
        'content-type': 'application/cloudevents-batch+json; charset=utf-8',
      })
    ).json.accepted,
    2,
  );
});

test('gzip-encoded bodies are accepted', async () => {
  const nd = [envelope(tx()), envelope(tx())].map((e) => JSON.stringify(e)).join('\n');
  const res = await post(gzipSync(nd), {
    'content-type': 'application/x-ndjson',
    'content-encoding': 'gzip',
  });
  assert.equal(res.status, 202);
  assert.equal(res.json.accepted, 2);
});

test('invalid events get per-event errors; valid neighbours are still accepted', async () => {
  const good = envelope(tx());
  const badAmount = envelope({ ...tx(), amount: -5 });
  const missing = { stream: 'ecommerce', data: { transaction_id: 'x' } };
  const unknown = { stream: 'nope', data: {} };
  const lines = [
    JSON.stringify(badAmount),
    JSON.stringify(good),
    '{not json',
    JSON.stringify(missing),
    JSON.stringify(unknown),
  ].join('\n');
  const res = await post(lines, { 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 202);
  assert.equal(res.json.accepted, 1);
  const rejected = res.json.rejected ?? [];
  assert.deepEqual(
    rejected.map((r) => r.index),
    [0, 2, 3, 4],
  );
  assert.deepEqual(
    rejected[0]?.errors.map((e) => e.path),
    ['data.amount'],
  );
  assert.deepEqual(
    rejected[1]?.errors.map((e) => e.path),
    ['(event)'],
  );
  assert.ok((rejected[2]?.errors.length ?? 0) >= 5, 'every missing field is reported');
  assert.deepEqual(
    rejected[3]?.errors.map((e) => e.path),
    ['stream'],
  );
});

test('a request whose events are all invalid is 400 with the same per-event errors', async () => {
  const res = await post(JSON.stringify([envelope({ ...tx(), amount: -1 }), { stream: 'nope', data: {} }]), {
    'content-type': 'application/json',
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.error?.code, 'validation_failed');
  const details = res.json.error?.details as { accepted: number; rejected: { index: number }[] };
  assert.equal(details.accepted, 0);
  assert.deepEqual(
    details.rejected.map((r) => r.index),
    [0, 1],
  );
});

test('413 past the request limit (plain and after gzip decompression); per-event size is a per-event error', async () => {
  const big = JSON.stringify(Array.from({ length: 400 }, () => envelope(tx())));
  assert.ok(big.length > LIMITS.maxRequestBytes);
  const plain = await post(big, { 'content-type': 'application/json' });
  assert.equal(plain.status, 413);
  assert.equal(plain.json.error?.code, 'payload_too_large');
  // Small on the wire, large once inflated: the limit holds after decompression too.
  const bomb = gzipSync(`[${' '.repeat(LIMITS.maxRequestBytes * 4)}]`);
  assert.ok(bomb.byteLength < LIMITS.maxRequestBytes);
  assert.equal(
    (await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status,
    413,
  );
  const fat = envelope({ ...tx(), product_name: 'x'.repeat(LIMITS.maxEventBytes) });
  const res = await post(JSON.stringify(fat), { 'content-type': 'application/json' });
  assert.equal(res.status, 400);
  assert.match(JSON.stringify(res.json), /bytes; the limit is 4096/);
});

test('an unsupported content type is 415 in the error envelope', async () => {
  const res = await post('a,b', { 'content-type': 'text/csv' });
  assert.equal(res.status, 415);
  assert.equal(res.json.error?.code, 'unsupported_media_type');
});

test('Kafka holds exactly the acknowledged events, keyed by category, with traceparent carried', async () => {
  const records = await readTopic(env.kafkaBrokers, topic, acked.length);
  const ids = records.map((r) => (JSON.parse(r.value) as { id: string }).id);
  assert.deepEqual([...ids].sort(), [...acked].sort());
  for (const record of records) {
    const value = JSON.parse(record.value) as { key: string; data: { product_category: string } };
    assert.equal(record.key, value.data.product_category);
  }
  const traced = records.find((r) => r.headers.traceparent !== undefined);
  assert.equal(traced?.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
});

test('/metrics counts accepted and rejected events', async () => {
  const text = await (await app.request('/metrics')).text();
  const accepted = /sluice_events_accepted_total\{[^}]*stream="ecommerce"[^}]*\} (\d+)/.exec(text);
  assert.equal(Number(accepted?.[1]), acked.length);
  assert.match(text, /sluice_events_rejected_total\{[^}]*reason="validation_failed"/);
});
