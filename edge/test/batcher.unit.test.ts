// Edge micro-batching and forwarding as units: requests share a batch but get their own verdicts,
// the pending queue is bounded, and only retryable failures are retried (honouring Retry-After).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { IntakeResponse } from '@sluice/shared/events/intake';
import { appError, fail, ok } from '@sluice/shared/result';
import { withRetry } from '@sluice/shared/retry';
import type { BatchOptions } from '../src/batcher.ts';
import { createBatcher } from '../src/batcher.ts';
import type { Forward } from '../src/forward.ts';

const OPTIONS: BatchOptions = {
  maxEvents: 100,
  maxBytes: 1 << 20,
  maxWaitMs: 20,
  maxPending: 1_000,
  maxPendingPerClient: 1_000,
};
const FROM = { client: '127.0.0.1' };

const event = (id: string): SluiceEvent => ({
  id,
  stream: 'ecommerce',
  tenant: 'default',
  time: 0,
  receivedAt: 0,
  key: 'k',
  data: {},
});

test('concurrent requests travel in one batch and each gets its own share of the verdicts', async () => {
  const calls: number[] = [];
  const forward: Forward = async (events) => {
    calls.push(events.length);
    // Ingest rejects the second event of the combined batch (index 1 = request B's first).
    const response: IntakeResponse = {
      accepted: events.length - 1,
      ids: [],
      rejected: [{ index: 1, id: 'b1', errors: [{ path: 'data', message: 'no' }] }],
    };
    return ok(response);
  };
  const batcher = createBatcher(forward, { ...OPTIONS, maxEvents: 100, maxWaitMs: 20, maxPending: 1_000 });
  const [a, b] = await Promise.all([
    batcher.submit([event('a1')], FROM),
    batcher.submit([event('b1'), event('b2')], FROM),
  ]);
  assert.deepEqual(calls, [3]);
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a.value, { ids: ['a1'], rejected: [] });
  assert.deepEqual(b.value.ids, ['b2']);
  assert.deepEqual(
    b.value.rejected.map((r) => r.index),
    [0],
  );
});

test('a full batch flushes at once; past maxPending a request gets a retryable 503 without queueing', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const forward: Forward = async (events) => {
    await gate;
    return ok({ accepted: events.length, ids: [], rejected: [] });
  };
  const batcher = createBatcher(forward, { ...OPTIONS, maxEvents: 2, maxWaitMs: 60_000, maxPending: 3 });
  const first = batcher.submit([event('1'), event('2')], FROM);
  const refused = await batcher.submit([event('3'), event('4')], FROM);
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.error.code, 'unavailable');
    assert.equal(refused.error.retryable, true);
  }
  release();
  assert.ok((await first).ok);
  await batcher.close();
});

test('a forward failure reaches every request of the batch', async () => {
  const batcher = createBatcher(async () => fail(appError('unavailable', 'ingest down')), {
    ...OPTIONS,
    maxEvents: 10,
    maxWaitMs: 1,
    maxPending: 100,
  });
  const results = await Promise.all([batcher.submit([event('x')], FROM), batcher.submit([event('y')], FROM)]);
  assert.deepEqual(
    results.map((r) => (r.ok ? 'ok' : r.error.code)),
    ['unavailable', 'unavailable'],
  );
});

test('withRetry retries only retryable errors, waiting at least Retry-After', async () => {
  const waits: number[] = [];
  let calls = 0;
  const retried = await withRetry(
    async () => {
      calls += 1;
      return calls < 3 ? fail(appError('unavailable', 'busy', { retryAfterSeconds: 0.5 })) : ok('done');
    },
    { retries: 5, baseMs: 10, capMs: 1_000, random: () => 0, sleep: async (ms) => void waits.push(ms) },
  );
  assert.deepEqual(retried, { ok: true, value: 'done' });
  assert.deepEqual(waits, [500, 500]);

  calls = 0;
  const final = await withRetry(
    async () => {
      calls += 1;
      return fail(appError('validation_failed', 'bad'));
    },
    { retries: 5, baseMs: 10, capMs: 1_000, sleep: async () => {} },
  );
  assert.equal(final.ok, false);
  assert.equal(calls, 1, 'a non-retryable error is returned at once');
});

/** A forward that refuses what ingest would: more than `maxEvents` lines or `maxBytes` of NDJSON. */
function ingestLike(limits: { maxEvents: number; maxBytes: number }, sizes: number[][]): Forward {
  return async (lines) => {
    const bytes = lines.reduce((sum, line) => sum + new TextEncoder().encode(line).byteLength + 1, 0);
    sizes.push([lines.length, bytes]);
    if (lines.length > limits.maxEvents || bytes > limits.maxBytes)
      return fail(appError('payload_too_large', `batch of ${lines.length} events, ${bytes} bytes`));
    return ok({ accepted: lines.length, ids: [], rejected: [] });
  };
}

// Regression (issue 20, item 5): queued events plus one large request made a batch past ingest's
// limits, and the 413 it got reached every request in it.
test('merged-batch 413: queued events and a large request never make a batch ingest refuses', async () => {
  const limits = { maxEvents: 100, maxBytes: 16 * 1024 };
  const sizes: number[][] = [];
  const batcher = createBatcher(ingestLike(limits, sizes), {
    ...OPTIONS,
    maxEvents: 100,
    maxBytes: limits.maxBytes,
    maxWaitMs: 20,
  });
  const small = Array.from({ length: 30 }, (_, i) =>
    batcher.submit([event(`small-${i}`)], { client: `c${i}` }),
  );
  const large = batcher.submit(
    Array.from({ length: 250 }, (_, i) => event(`large-${i}`)),
    { client: 'big' },
  );
  const fat = { ...event('fat'), data: { blob: 'x'.repeat(10_000) } };
  const heavy = batcher.submit([fat, fat, { ...fat, id: 'fat-2' }], { client: 'heavy' });
  const results = await Promise.all([...small, large, heavy]);
  for (const result of results) assert.ok(result.ok, result.ok ? '' : result.error.message);
  const [bigShare] = results.slice(30, 31);
  assert.equal(bigShare?.ok && bigShare.value.ids.length, 250);
  for (const [count, bytes] of sizes) {
    assert.ok((count ?? 0) <= limits.maxEvents, `${count} events in one batch`);
    assert.ok((bytes ?? 0) <= limits.maxBytes, `${bytes} bytes in one batch`);
  }
  assert.equal(
    sizes.reduce((sum, [count]) => sum + (count ?? 0), 0),
    283,
  );
});

test('a request split across batches gets its rejections at its own indexes', async () => {
  // Ingest rejects the first line of every batch.
  const forward: Forward = async (lines) =>
    ok({ accepted: lines.length - 1, ids: [], rejected: [{ index: 0, id: null, errors: [] }] });
  const batcher = createBatcher(forward, { ...OPTIONS, maxEvents: 4, maxWaitMs: 5 });
  const [a, b] = await Promise.all([
    batcher.submit([event('a0'), event('a1')], { client: 'a' }),
    batcher.submit(
      Array.from({ length: 7 }, (_, i) => event(`b${i}`)),
      { client: 'b' },
    ),
  ]);
  // Batches: [a0 a1 b0 b1] [b2 b3 b4 b5] [b6]: rejected a0, b2 and b6.
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a.value, { ids: ['a1'], rejected: [{ index: 0, id: null, errors: [] }] });
  assert.deepEqual(
    b.value.rejected.map((r) => r.index),
    [2, 6],
  );
  assert.deepEqual(b.value.ids, ['b0', 'b1', 'b3', 'b4', 'b5']);
});

test("one client's burst cannot take every pending slot: past its share it gets 503, others do not", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const forward: Forward = async (lines) => {
    await gate;
    return ok({ accepted: lines.length, ids: [], rejected: [] });
  };
  const batcher = createBatcher(forward, {
    ...OPTIONS,
    maxEvents: 10,
    maxWaitMs: 1,
    maxPending: 100,
    maxPendingPerClient: 40,
  });
  const burst = Array.from({ length: 4 }, (_, i) =>
    batcher.submit(
      Array.from({ length: 10 }, (_, j) => event(`burst-${i}-${j}`)),
      { client: 'greedy' },
    ),
  );
  const refused = await batcher.submit([event('one-more')], { client: 'greedy' });
  assert.equal(refused.ok ? 'ok' : refused.error.code, 'unavailable');
  assert.match(refused.ok ? '' : refused.error.message, /this client/);
  const other = batcher.submit([event('polite')], { client: 'polite' });
  release();
  assert.ok((await other).ok, 'another client is still served');
  for (const r of await Promise.all(burst)) assert.ok(r.ok);
  // Once answered, the share is free again.
  assert.ok((await batcher.submit([event('again')], { client: 'greedy' })).ok);
  await batcher.close();
});

test('a batch ingest refuses whole for its events (400 with verdicts) answers each request with its own', async () => {
  const forward: Forward = async (lines) =>
    fail(
      appError('validation_failed', `all ${lines.length} event(s) were rejected`, {
        details: {
          accepted: 0,
          rejected: lines.map((_, index) => ({
            index,
            id: null,
            errors: [{ path: '(event)', message: 'too big' }],
          })),
        },
      }),
    );
  const batcher = createBatcher(forward, { ...OPTIONS, maxWaitMs: 5 });
  const [a, b] = await Promise.all([
    batcher.submit([event('a0')], { client: 'a' }),
    batcher.submit([event('b0'), event('b1')], { client: 'b' }),
  ]);
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a.value.ids, []);
  assert.deepEqual(
    b.value.rejected.map((r) => r.index),
    [0, 1],
  );
});
