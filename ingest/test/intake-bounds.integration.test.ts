// Ingest bounds its own cost (issue 20, item 4), in-process with a real Kafka producer at the
// default limits: a gzip bomb is refused for a few milliseconds of CPU, an event's Kafka record
// always fits the broker, requests in flight are bounded (503), and only valid client trace
// headers are copied onto records.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createGzip } from 'node:zlib';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { DEFAULT_MAX_RECORD_BYTES } from '@sluice/shared/events/record-size';
import type { ErrorEnvelope } from '@sluice/shared/http/error-envelope';
import { count, defineStream, tumbling } from '@sluice/shared/streams/define';
import { STREAMS, topicNames } from '@sluice/shared/streams/registry';
import { z } from 'zod';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import type { InProcessIngest } from './in-process.ts';
import { inProcessIngest } from './in-process.ts';

const env = stackEnv();
const prefix = `${uniqueName('bounds')}.`;
const TIME = Date.parse('2026-02-05T00:00:00Z');
const random = seededRandom(20);
let n = 0;
const tx = () => makeTransaction(random, `bounds-${n++}`, TIME + n);
// The declared streams bound every field well under a record's limit; a stream of free-form
// payloads (as a user may declare) is where an event can reach it.
const blobs = defineStream({
  name: 'blobs',
  description: 'test: payloads of any size',
  partitions: 1,
  schema: z.object({ key: z.string(), blob: z.string() }),
  keyBy: ['key'],
  windows: [tumbling('1m')],
  aggregations: [count()],
  watermark: '1m',
  allowedLateness: '0s',
});
const blobsTopic = topicNames('blobs', prefix).events;

let ingest: InProcessIngest;

before(async () => {
  // The default limits (10 MiB, 1 MiB per event, 10,000 events), but 2 MiB per event here so a
  // record one byte past the record bound gets that far.
  ingest = await inProcessIngest({
    prefix,
    deliveryTimeoutMs: 10_000,
    limits: { ...DEFAULT_LIMITS, maxEventBytes: 2 << 20 },
    streams: [...STREAMS, blobs],
    // Uncompressed, as incompressible payloads (base64 of an image, say) travel anyway.
    compression: 'none',
    inflight: { maxRequests: 4, maxBytes: 64 << 20 },
  });
});

after(async () => {
  await ingest.close();
});

type Answer = {
  accepted?: number;
  ids?: string[];
  rejected?: { index: number; errors: { message: string }[] }[];
} & Partial<ErrorEnvelope>;

async function post(body: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string>) {
  const response = await ingest.app.request('/v1/events', {
    method: 'POST',
    body,
    headers,
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, headers: response.headers, json: (await response.json()) as Answer };
}

/** 1 GiB of zeros, gzipped (about 1 MB), made as a stream so the test never holds the GiB. */
async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise((resolve) => gzip.on('end', resolve));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 1024; i += 1) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await ended;
  return Buffer.concat(parts);
}

// Regression (issue 20, item 4): gzip is inflated as a stream against the limit; reading stops as
// soon as the inflated size passes it.
test('gzip bomb: 1 GiB of zeros in ~1 MB of gzip is a 413 for a bounded CPU cost', async () => {
  const bomb = await gzipBomb();
  assert.ok(bomb.byteLength < 2 << 20, `${bomb.byteLength} bytes on the wire`);
  const costs: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const started = process.cpuUsage();
    const res = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const cpu = process.cpuUsage(started);
    assert.equal(res.status, 413);
    assert.equal(res.json.error?.code, 'payload_too_large');
    costs.push((cpu.user + cpu.system) / 1000);
  }
  // Inflating the whole GiB costs over a second here; stopping at 10 MiB, tens of milliseconds.
  const best = Math.min(...costs);
  console.log(`gzip bomb refused for ${costs.map((c) => c.toFixed(1)).join(' / ')} ms of CPU`);
  assert.ok(best < 250, `${best} ms of CPU to refuse a gzip bomb`);
});

/** Text lz4 cannot shrink: the producer's compression must not be what makes a record fit. */
function incompressible(length: number): string {
  return randomBytes(length).toString('base64').slice(0, length);
}

/** A blobs event whose Kafka record (value and key, no headers) is exactly `bytes` long. */
function blobOfRecordBytes(bytes: number, id: string) {
  const time = TIME;
  const sized = (blob: string) => {
    const data = { key: 'k', blob };
    // What ingest writes (envelope.ts encodeEvent): the same fields, so the same length.
    const value = JSON.stringify({
      id,
      stream: 'blobs',
      tenant: 'default',
      time,
      received_at: Date.now(),
      key: 'k',
      data,
    });
    return { event: { id, stream: 'blobs', time, data }, size: Buffer.byteLength(value) + 1 };
  };
  const { event, size } = sized(incompressible(bytes - sized('').size));
  assert.equal(size, bytes);
  return event;
}

test('an event whose Kafka record is exactly the record limit is accepted and lands in Kafka', async () => {
  const event = blobOfRecordBytes(DEFAULT_MAX_RECORD_BYTES, 'exact');
  const res = await post(JSON.stringify(event), { 'content-type': 'application/json' });
  assert.equal(res.status, 202, JSON.stringify(res.json).slice(0, 500));
  assert.deepEqual(res.json.ids, ['exact']);
  const [record] = await readTopic(env.kafkaBrokers, blobsTopic, 1, 10_000);
  assert.equal(
    Buffer.byteLength(record?.value ?? '') + Buffer.byteLength(record?.key ?? ''),
    DEFAULT_MAX_RECORD_BYTES,
  );
});

// Regression (issue 20, item 4): a 1 MiB event (the per-event limit) plus its envelope made a record
// the broker refuses (message.max.bytes 1,048,588): a 503 no retry could cure. Now a per-event
// verdict says why, and its neighbours are still accepted.
test('an event one byte past the record limit, or a 1 MiB event, is a per-event rejection naming the limit', async () => {
  const over = blobOfRecordBytes(DEFAULT_MAX_RECORD_BYTES + 1, 'over');
  const mib = {
    id: 'mib',
    stream: 'blobs',
    time: TIME,
    data: { key: 'k', blob: 'y'.repeat((1 << 20) - 100) },
  };
  assert.ok(JSON.stringify(mib).length <= 1 << 20, 'within the per-event limit of the request body');
  const fine = { id: 'fine', stream: 'blobs', time: TIME, data: { key: 'k', blob: 'small' } };
  const res = await post(JSON.stringify([over, fine, mib]), { 'content-type': 'application/json' });
  assert.equal(res.status, 202, JSON.stringify(res.json).slice(0, 500));
  assert.deepEqual(res.json.ids, ['fine']);
  assert.deepEqual(
    res.json.rejected?.map((r) => r.index),
    [0, 2],
  );
  assert.match(
    res.json.rejected?.[0]?.errors[0]?.message ?? '',
    /Kafka record is 1000001 bytes .* the limit is 1000000/,
  );
  // Alone, it is a 400 with the same verdict.
  const alone = await post(JSON.stringify(mib), { 'content-type': 'application/json' });
  assert.equal(alone.status, 400);
  assert.match(JSON.stringify(alone.json.error?.details), /the limit is 1000000/);
});

test('past the requests in flight a request is a 503 with Retry-After; once they finish it is accepted', async () => {
  // Four requests whose bodies never finish hold every slot.
  const held = Array.from({ length: 4 }, () => {
    let close: () => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`[${JSON.stringify(envelope(tx()))}`));
        close = () => {
          controller.enqueue(new TextEncoder().encode(']'));
          controller.close();
        };
      },
    });
    return { answer: post(body, { 'content-type': 'application/json' }), close: () => close() };
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const refused = await post(JSON.stringify(envelope(tx())), { 'content-type': 'application/json' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal(refused.json.error?.code, 'unavailable');
  for (const h of held) h.close();
  for (const h of held) assert.equal((await h.answer).status, 202);
  const accepted = await post(JSON.stringify(envelope(tx())), { 'content-type': 'application/json' });
  assert.equal(accepted.status, 202);
});

test('a request without a Content-Type is 415 at ingest', async () => {
  const response = await ingest.app.request('/v1/events', {
    method: 'POST',
    body: new Blob([JSON.stringify(envelope(tx()))]),
  });
  assert.equal(response.status, 415);
});

test('client trace headers: valid ones are copied onto the records, invalid or oversized ones are dropped', async () => {
  const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const cases: { headers: Record<string, string>; expect: Record<string, string | undefined> }[] = [
    {
      headers: { traceparent: valid, tracestate: 'a=1,b@c=2' },
      expect: { traceparent: valid, tracestate: 'a=1,b@c=2' },
    },
    // Uppercase hex, all-zero ids, version ff, junk: a new trace (nothing copied).
    { headers: { traceparent: valid.toUpperCase() }, expect: {} },
    { headers: { traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` }, expect: {} },
    { headers: { traceparent: `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01` }, expect: {} },
    { headers: { traceparent: `ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01` }, expect: {} },
    { headers: { traceparent: `${valid}-extra`, tracestate: 'a=1' }, expect: {} },
    { headers: { traceparent: 'x'.repeat(100_000) }, expect: {} },
    // A tracestate past 512 characters or 32 members, or malformed, is dropped alone.
    { headers: { traceparent: valid, tracestate: `a=${'v'.repeat(600)}` }, expect: { traceparent: valid } },
    {
      headers: { traceparent: valid, tracestate: Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',') },
      expect: { traceparent: valid },
    },
    { headers: { traceparent: valid, tracestate: 'UPPER=1' }, expect: { traceparent: valid } },
  ];
  const traced = `${uniqueName('traced')}.`;
  const own = await inProcessIngest({ prefix: traced, deliveryTimeoutMs: 10_000 });
  try {
    const sent: { id: string; expect: Record<string, string | undefined> }[] = [];
    for (const c of cases) {
      const event = envelope(tx());
      const response = await own.app.request('/v1/events', {
        method: 'POST',
        body: JSON.stringify(event),
        headers: { 'content-type': 'application/json', ...c.headers },
      });
      assert.equal(response.status, 202);
      sent.push({ id: event.data.transaction_id, expect: c.expect });
    }
    const records = await readTopic(
      env.kafkaBrokers,
      topicNames('ecommerce', traced).events,
      sent.length,
      10_000,
    );
    const byId = new Map(records.map((r) => [(JSON.parse(r.value) as { id: string }).id, r.headers]));
    for (const { id, expect } of sent) {
      const headers = byId.get(id) ?? {};
      assert.deepEqual(
        { traceparent: headers.traceparent, tracestate: headers.tracestate },
        { traceparent: expect.traceparent, tracestate: expect.tracestate },
        id,
      );
    }
  } finally {
    await own.close();
  }
});
