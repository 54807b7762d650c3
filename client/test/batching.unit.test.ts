// Unit: batching by count, bytes and time, gzip, ids fixed once, per-event verdicts and the
// bounded buffer, against a fetch that answers as the intake does (a pure unit: no network).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { EventsOptions } from '../src/index.ts';
import { createEvents } from '../src/index.ts';

interface Seen {
  readonly lines: { id: string; stream: string; data: unknown }[];
  readonly headers: Headers;
  readonly at: number;
}

/** A fetch answering like POST /v1/events: 202, refusing events whose data says `bad`. */
function intakeStub(hold?: Promise<void>) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    const raw = new Uint8Array(await new Response(init?.body).arrayBuffer());
    const text =
      headers.get('content-encoding') === 'gzip' ? gunzipSync(raw).toString() : new TextDecoder().decode(raw);
    const lines = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Seen['lines'][number]);
    seen.push({ lines, headers, at: Date.now() });
    assert.equal(String(input), 'http://intake.test/v1/events');
    await hold;
    const rejected = lines.flatMap((line, index) =>
      (line.data as { bad?: boolean }).bad === true
        ? [{ index, id: line.id, errors: [{ path: 'data.amount', message: 'too small' }] }]
        : [],
    );
    const ids = lines.filter((_, i) => !rejected.some((r) => r.index === i)).map((l) => l.id);
    return Response.json({ accepted: ids.length, ids, rejected }, { status: 202 });
  };
  return { seen, fetch };
}

const options = (fetch: typeof globalThis.fetch, extra: Partial<EventsOptions> = {}): EventsOptions => ({
  url: 'http://intake.test',
  fetch,
  lingerMs: 10_000,
  ...extra,
});

const event = (n: number, data: Record<string, unknown> = {}) => ({
  stream: 'ecommerce',
  data: { n, ...data },
});

describe('batching', () => {
  it('sends a batch when it holds maxBatchEvents events, without waiting for the linger', async () => {
    const stub = intakeStub();
    const sender = createEvents(options(stub.fetch, { maxBatchEvents: 3 }));
    const sent = [];
    for (let i = 0; i < 7; i += 1) sent.push(await sender.send(event(i)));
    // Two full batches left at once; the seventh waits for its linger (10 s) or a flush.
    await Promise.all(sent.slice(0, 6).map((s) => s.verdict));
    assert.deepEqual(
      stub.seen.map((s) => s.lines.length),
      [3, 3],
    );
    await sender.flush();
    assert.deepEqual(
      stub.seen.map((s) => s.lines.length),
      [3, 3, 1],
    );
    assert.deepEqual(
      stub.seen.flatMap((s) => s.lines.map((l) => (l.data as { n: number }).n)),
      [0, 1, 2, 3, 4, 5, 6],
      'in order',
    );
  });

  it('splits batches at maxBatchBytes of NDJSON', async () => {
    const stub = intakeStub();
    const sender = createEvents(options(stub.fetch, { maxBatchBytes: 400 }));
    const pad = 'x'.repeat(100);
    for (let i = 0; i < 6; i += 1) await sender.send(event(i, { pad }));
    await sender.flush();
    assert.ok(stub.seen.length >= 2, `${stub.seen.length} batches`);
    for (const batch of stub.seen) {
      const bytes = batch.lines.reduce(
        (sum, l) => sum + new TextEncoder().encode(JSON.stringify(l)).byteLength + 1,
        0,
      );
      assert.ok(bytes <= 400, `a batch of ${bytes} bytes`);
    }
    assert.equal(
      stub.seen.reduce((sum, s) => sum + s.lines.length, 0),
      6,
    );
  });

  it('sends a partial batch lingerMs after its first event', async () => {
    const stub = intakeStub();
    const sender = createEvents(options(stub.fetch, { lingerMs: 80 }));
    const started = Date.now();
    const { verdict } = await sender.send(event(1));
    await sender.send(event(2));
    assert.equal(stub.seen.length, 0, 'nothing sent before the linger');
    assert.equal((await verdict).status, 'accepted');
    const waited = (stub.seen[0]?.at ?? 0) - started;
    assert.ok(waited >= 75 && waited < 2_000, `sent after ${waited} ms`);
    assert.equal(stub.seen[0]?.lines.length, 2);
  });

  it('gzips the body (Content-Encoding: gzip) by default, and sends plain NDJSON without', async () => {
    const stub = intakeStub();
    const zipped = createEvents(options(stub.fetch));
    await zipped.send(event(1));
    await zipped.flush();
    const plain = createEvents(options(stub.fetch, { gzip: false }));
    await plain.send(event(2));
    await plain.flush();
    assert.equal(stub.seen[0]?.headers.get('content-encoding'), 'gzip');
    assert.equal(stub.seen[1]?.headers.get('content-encoding'), null);
    assert.equal(stub.seen[0]?.headers.get('content-type'), 'application/x-ndjson');
  });

  it('sends the API key as Bearer, and none without one', async () => {
    const stub = intakeStub();
    const keyed = createEvents(options(stub.fetch, { apiKey: 'slk_test' }));
    await keyed.send(event(1));
    await keyed.flush();
    const anonymous = createEvents(options(stub.fetch));
    await anonymous.send(event(2));
    await anonymous.flush();
    assert.equal(stub.seen[0]?.headers.get('authorization'), 'Bearer slk_test');
    assert.equal(stub.seen[1]?.headers.get('authorization'), null);
  });
});

describe('options', () => {
  it('refuses a bound that would stall the sender (a zero batch, buffer or flight)', () => {
    for (const name of [
      'maxBatchEvents',
      'maxBatchBytes',
      'maxInFlight',
      'maxBufferedEvents',
      'maxBufferedBytes',
    ])
      assert.throws(() => createEvents(options(intakeStub().fetch, { [name]: 0 })), RangeError, name);
  });
});

describe('ids and verdicts', () => {
  it('gives an event without an id a UUID once, keeps a given id, and answers each event', async () => {
    const stub = intakeStub();
    const sender = createEvents(options(stub.fetch));
    const made = await sender.send(event(1));
    const given = await sender.send({ ...event(2), id: 'order-2' });
    const bad = await sender.send(event(3, { bad: true }));
    await sender.flush();
    assert.match(made.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(given.id, 'order-2');
    assert.deepEqual(
      stub.seen[0]?.lines.map((l) => l.id),
      [made.id, 'order-2', bad.id],
      'the ids on the wire are the ones returned',
    );
    assert.deepEqual(await made.verdict, { status: 'accepted', id: made.id, attempts: 1 });
    assert.deepEqual(await bad.verdict, {
      status: 'refused',
      id: bad.id,
      errors: [{ path: 'data.amount', message: 'too small' }],
      attempts: 1,
    });
  });

  it('refuses sends after close() with a `closed` verdict, having flushed what it held', async () => {
    const stub = intakeStub();
    const sender = createEvents(options(stub.fetch));
    const before = await sender.send(event(1));
    await sender.close();
    assert.equal((await before.verdict).status, 'accepted');
    const after = await sender.send(event(2));
    const verdict = await after.verdict;
    assert.equal(verdict.status, 'failed');
    assert.equal(verdict.status === 'failed' ? verdict.error.code : '', 'closed');
    assert.equal(stub.seen.length, 1);
  });
});

describe('bounded buffer', () => {
  it('holds at most maxBufferedEvents: send() waits for room, and past maxWaiting answers buffer_full', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stub = intakeStub(held);
    const sender = createEvents(
      options(stub.fetch, { maxBatchEvents: 2, maxBufferedEvents: 4, maxWaiting: 1, maxInFlight: 2 }),
    );
    for (let i = 0; i < 4; i += 1) await sender.send(event(i));
    assert.deepEqual(sender.buffered().events, 4);
    // The fifth waits for room (the intake holds both batches)...
    let fifthIn = false;
    const fifth = sender.send(event(4)).then((sent) => {
      fifthIn = true;
      return sent;
    });
    // ...and a sixth, past the one waiting place, is answered at once.
    const sixth = await sender.send(event(5));
    const refused = await sixth.verdict;
    assert.equal(refused.status === 'failed' ? refused.error.code : refused.status, 'buffer_full');
    assert.equal(refused.status === 'failed' && refused.error.retryable, true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(fifthIn, false, 'still waiting while the buffer is full');
    assert.ok(sender.buffered().events <= 4);
    release();
    const { verdict } = await fifth;
    await sender.flush();
    assert.equal((await verdict).status, 'accepted');
    assert.equal(sender.buffered().events, 0);
  });

  it('bounds the bytes held too (maxBufferedBytes)', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stub = intakeStub(held);
    const sender = createEvents(
      options(stub.fetch, { maxBatchEvents: 1, maxBufferedBytes: 400, maxInFlight: 4 }),
    );
    const pad = 'y'.repeat(100);
    await sender.send(event(0, { pad }));
    await sender.send(event(1, { pad }));
    let thirdIn = false;
    const third = sender.send(event(2, { pad })).then((s) => {
      thirdIn = true;
      return s;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(thirdIn, false);
    assert.ok(sender.buffered().bytes <= 400, `${sender.buffered().bytes} bytes held`);
    assert.equal(sender.buffered().events, 2, 'each line is over 133 bytes: two fit, a third does not');
    release();
    await third;
    await sender.flush();
    assert.equal(stub.seen.length, 3);
  });
});
