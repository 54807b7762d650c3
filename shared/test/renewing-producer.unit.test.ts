// The producer that replaces a client broken by a fatal error (a pure unit: the clients are
// fakes; what a fatal error is, librdkafka decides and consumer.ts reads). Guarantee 1 holds
// throughout: a send is acked only by a client that acked it, and while no client can send,
// every send is a retryable 503 at once instead of a hang or a success.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutgoingRecord } from '../src/kafka/port.ts';
import type { BreakableProducer } from '../src/kafka/renewing-producer.ts';
import { renewingProducer } from '../src/kafka/renewing-producer.ts';
import type { AppError, Result } from '../src/result.ts';
import { appError, fail, ok } from '../src/result.ts';

class FakeClient implements BreakableProducer {
  fatal = false;
  closed = false;
  readonly sent: (readonly OutgoingRecord[])[] = [];
  /** What the next sends answer; by default they succeed. */
  answer: () => Result<void, AppError> = () => ok(undefined);
  async send(records: readonly OutgoingRecord[]): Promise<Result<void, AppError>> {
    this.sent.push(records);
    return this.answer();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const records: OutgoingRecord[] = [{ topic: 't', key: 'k', value: 'v', headers: {} }];
const produceFailed = () => fail(appError('unavailable', 'produce failed: fatal', { retryable: true }));

/** Clients handed out in order; `failures` connection attempts fail first. */
function factory(failures = 0) {
  const clients: FakeClient[] = [];
  let attempts = 0;
  return {
    clients,
    attempts: () => attempts,
    async create(): Promise<FakeClient> {
      attempts += 1;
      if (attempts > 1 && failures-- > 0) throw new Error('broker unreachable');
      const client = new FakeClient();
      clients.push(client);
      return client;
    },
  };
}

/** Lets the background renewal run (its steps are promise continuations). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('sends go to the client and its answers come back unchanged; a non-fatal failure keeps it', async () => {
  const f = factory();
  const producer = await renewingProducer(() => f.create(), { retryMs: { first: 1, cap: 1 } });
  assert.deepEqual(await producer.send(records), ok(undefined));
  assert.equal(producer.replacing, false);
  const [client] = f.clients;
  assert.ok(client);
  const queueFull = fail(appError('unavailable', 'producer queue is full', { retryAfterSeconds: 1 }));
  client.answer = () => queueFull;
  assert.deepEqual(await producer.send(records), queueFull);
  await settle();
  assert.equal(f.attempts(), 1, 'a full queue is not a reason for a new client');
  assert.equal(client.sent.length, 2);
  await producer.close();
  assert.equal(client.closed, true);
});

test('a send that fails on a client broken for good: 503s until a new client connected, then it sends', async () => {
  const f = factory();
  let renewed = 0;
  // The new client connects only when the test says so: the 503s meanwhile are observable.
  let connect: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    connect = resolve;
  });
  const producer = await renewingProducer(
    async () => {
      if (f.clients.length > 0) await connected;
      return f.create();
    },
    { retryMs: { first: 1, cap: 1 }, onRenewed: () => renewed++ },
  );
  const [broken] = f.clients;
  assert.ok(broken);
  broken.answer = () => {
    broken.fatal = true;
    return produceFailed();
  };
  const failed = await producer.send(records);
  assert.equal(failed.ok, false, 'the records of the failed send are not acked');
  // The renewal starts at once; a send meanwhile is refused, retryable, without reaching a client.
  const during = await producer.send(records);
  assert.equal(during.ok, false);
  assert.equal(during.ok ? undefined : during.error.retryable, true);
  assert.equal(during.ok ? undefined : during.error.code, 'unavailable');
  assert.equal(broken.sent.length, 1, 'nothing more goes to the broken client');
  assert.equal(broken.closed, true, 'the broken client is closed');
  assert.equal(renewed, 0);
  assert.equal(producer.replacing, true, 'readiness can tell no client can send');
  connect();
  await settle();
  assert.equal(renewed, 1);
  assert.equal(producer.replacing, false);
  const fresh = f.clients[1];
  assert.ok(fresh, 'a second client was created');
  assert.deepEqual(await producer.send(records), ok(undefined));
  assert.equal(fresh.sent.length, 1, 'the next send went to the new client');
  await producer.close();
  assert.equal(fresh.closed, true);
});

test('a client that reports itself broken between sends is replaced before it is asked again', async () => {
  const f = factory();
  const producer = await renewingProducer(() => f.create(), { retryMs: { first: 1, cap: 1 } });
  const [broken] = f.clients;
  assert.ok(broken);
  broken.fatal = true; // the client's error event said so
  assert.equal(producer.replacing, true, 'a client that said it is broken is not ready, before any send');
  const refused = await producer.send(records);
  assert.equal(refused.ok ? undefined : refused.error.code, 'unavailable');
  assert.equal(broken.sent.length, 0);
  await settle();
  assert.deepEqual(await producer.send(records), ok(undefined));
  assert.equal(f.clients[1]?.sent.length, 1);
  await producer.close();
});

test('while no new client can connect it keeps trying with capped, doubling waits', async () => {
  const f = factory(4);
  const waits: number[] = [];
  const producer = await renewingProducer(() => f.create(), {
    retryMs: { first: 500, cap: 2_000 },
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  const [broken] = f.clients;
  assert.ok(broken);
  broken.fatal = true;
  await producer.send(records);
  for (let i = 0; i < 20 && f.clients.length < 2; i++) await settle();
  assert.deepEqual(waits, [500, 1_000, 2_000, 2_000]);
  assert.equal(f.attempts(), 6, 'the first client, four failed attempts, the one that connected');
  assert.deepEqual(await producer.send(records), ok(undefined));
  await producer.close();
});

/** The process's pending timers: a closed producer must leave none (it would hold a process open). */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('close during a backoff wait returns without waiting it out and leaves no client open', async () => {
  const before = timers();
  const f = factory(1_000);
  const producer = await renewingProducer(() => f.create(), { retryMs: { first: 60_000, cap: 60_000 } });
  const [broken] = f.clients;
  assert.ok(broken);
  broken.fatal = true;
  await producer.send(records);
  await settle();
  const started = performance.now();
  await producer.close();
  assert.ok(performance.now() - started < 5_000, 'close did not wait for the 60 s backoff');
  assert.equal(broken.closed, true);
  assert.equal(f.clients.length, 1, 'no client was created after close');
  assert.equal(timers(), before, 'the backoff timer does not outlive close');
});

test('a new client that breaks again before it ever sent is replaced only after a wait', async () => {
  const f = factory();
  const waits: number[] = [];
  const producer = await renewingProducer(() => f.create(), {
    retryMs: { first: 500, cap: 2_000 },
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  for (let round = 0; round < 3; round++) {
    const client = f.clients.at(-1);
    assert.ok(client);
    client.fatal = true;
    await producer.send(records);
    for (let i = 0; i < 20 && f.clients.length < round + 2; i++) await settle();
  }
  assert.deepEqual(waits, [500, 1_000], 'the first renewal is at once, the next ones back off');
  // A successful send proves the client: the next renewal is at once again.
  assert.deepEqual(await producer.send(records), ok(undefined));
  const proven = f.clients.at(-1);
  assert.ok(proven);
  proven.fatal = true;
  await producer.send(records);
  for (let i = 0; i < 20 && f.clients.length < 5; i++) await settle();
  assert.equal(f.clients.length, 5);
  assert.deepEqual(waits, [500, 1_000]);
  await producer.close();
});
