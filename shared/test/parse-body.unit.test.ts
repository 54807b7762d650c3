// Intake's body reader as a unit (Web Request objects, no server): events are counted while the
// bytes arrive, a body without a Content-Type is refused, and a body that trickles is cut off.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonArrayCounter, ndjsonCounter } from '../src/events/item-counter.ts';
import type { BodyLimits } from '../src/events/parse-body.ts';
import { parseBody } from '../src/events/parse-body.ts';

const LIMITS: BodyLimits = { maxRequestBytes: 10 << 20, maxEventBytes: 1 << 20, maxEvents: 10_000 };
const encoder = new TextEncoder();

function request(body: string | ReadableStream<Uint8Array>, headers: Record<string, string>): Request {
  return new Request('http://127.0.0.1/v1/events', { method: 'POST', body, headers, duplex: 'half' });
}

/** Splits bytes into chunks at the given cut points, as a network would. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

test('the JSON counter counts the elements of a top-level array however the bytes are cut', () => {
  fc.assert(
    fc.property(fc.array(fc.json()), fc.array(fc.nat()), fc.boolean(), (values, cuts, pretty) => {
      const text = pretty
        ? JSON.stringify(
            values.map((v) => JSON.parse(v)),
            null,
            2,
          )
        : `[${values.join(',')}]`;
      const counter = jsonArrayCounter();
      let count = 0;
      for (const chunk of chunked(encoder.encode(text), cuts)) count = counter.push(chunk, Infinity);
      assert.equal(count, values.length);
    }),
    { numRuns: 500 },
  );
});

test('the NDJSON counter counts the non-blank lines however the bytes are cut', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.json(), fc.constantFrom('', '  ', '\r'))),
      fc.array(fc.nat()),
      (lines, cuts) => {
        const counter = ndjsonCounter();
        let count = 0;
        for (const chunk of chunked(encoder.encode(lines.join('\n')), cuts))
          count = counter.push(chunk, Infinity);
        assert.equal(count, lines.filter((line) => line.trim() !== '').length);
      },
    ),
    { numRuns: 500 },
  );
});

test('a single JSON object is one item', () => {
  assert.equal(jsonArrayCounter().push(encoder.encode(' {"a":[1,2,3]}'), 10), 1);
});

// Regression (issue 20, item 4): a JSON array of millions of zeros (or NDJSON of millions of lines)
// was parsed in full, every value built, before the 10,000-event limit was looked at (0.5 s and
// 2.7 s of CPU, +340 MB of RSS at 5 million). Now the count trips while the body is read.
test('items counted while parsing: millions of array elements or lines are a 413 without being built', async () => {
  const zeros = 5_000_000;
  const bodies = [
    { type: 'application/json', body: `[${'0,'.repeat(zeros - 1)}0]` },
    { type: 'application/x-ndjson', body: '0\n'.repeat(zeros) },
  ];
  for (const { type, body } of bodies) {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        // 64 KiB chunks, as a socket delivers them.
        const bytes = encoder.encode(body);
        for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.subarray(at, at + 65_536));
        controller.close();
      },
    });
    const started = process.cpuUsage();
    const parsed = await parseBody(request(stream, { 'content-type': type }), LIMITS);
    const cpu = process.cpuUsage(started);
    const ms = (cpu.user + cpu.system) / 1000;
    assert.ok(ms < 150, `${type}: ${ms} ms of CPU to refuse`);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) {
      assert.equal(parsed.error.code, 'payload_too_large');
      assert.match(parsed.error.message, /more than 10000 events/);
    }
  }
});

test('exactly the event limit is read; one more is a 413', async () => {
  const limits = { ...LIMITS, maxEvents: 3 };
  const three = await parseBody(
    request('[{"a":1},{"a":2},{"a":3}]', { 'content-type': 'application/json' }),
    limits,
  );
  assert.ok(three.ok);
  assert.equal(three.value.items.length, 3);
  const four = await parseBody(
    request('{"a":1}\n{"a":2}\n\n{"a":3}\n{"a":4}\n', { 'content-type': 'application/x-ndjson' }),
    limits,
  );
  assert.equal(four.ok ? 'ok' : four.error.code, 'payload_too_large');
});

// Regression (issue 20, item 4): a body without a Content-Type was read as JSON, so any web page
// could post events cross-site with a form (`text/plain` needs no CORS preflight).
test('a request without a Content-Type (or text/plain) is 415', async () => {
  const body = '{"stream":"ecommerce","data":{}}';
  // A Blob without a type gives the request no Content-Type header at all.
  const untyped = new Request('http://127.0.0.1/v1/events', { method: 'POST', body: new Blob([body]) });
  assert.equal(untyped.headers.get('content-type'), null);
  const none = await parseBody(untyped, LIMITS);
  assert.equal(none.ok ? 'ok' : none.error.code, 'unsupported_media_type');
  assert.match(none.ok ? '' : none.error.message, /Content-Type is required/);
  const plain = await parseBody(request(body, { 'content-type': 'text/plain;charset=UTF-8' }), LIMITS);
  assert.equal(plain.ok ? 'ok' : plain.error.code, 'unsupported_media_type');
});

test('a body that trickles past the read deadline is a 408 and is no longer read', async () => {
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      pulls += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.enqueue(encoder.encode(pulls === 1 ? '[' : '0,'));
    },
  });
  const started = Date.now();
  const parsed = await parseBody(request(stream, { 'content-type': 'application/json' }), {
    ...LIMITS,
    bodyReadTimeoutMs: 300,
  });
  const elapsed = Date.now() - started;
  assert.equal(parsed.ok ? 'ok' : parsed.error.code, 'request_timeout');
  assert.ok(elapsed >= 290 && elapsed < 1_000, `${elapsed} ms`);
  const pullsAtRefusal = pulls;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(pulls <= pullsAtRefusal + 1, 'the stream is cancelled, not drained');
});
