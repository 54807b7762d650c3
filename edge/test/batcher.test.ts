// Edge micro-batching and forwarding as units: requests share a batch but get their own verdicts,
// the pending queue is bounded, and only retryable failures are retried (honouring Retry-After).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { IntakeResponse } from '@sluice/shared/events/intake';
import { appError, fail, ok } from '@sluice/shared/result';
import { withRetry } from '@sluice/shared/retry';
import { createBatcher } from '../src/batcher.ts';
import type { Forward } from '../src/forward.ts';

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
  const batcher = createBatcher(forward, { maxEvents: 100, maxWaitMs: 20, maxPending: 1_000 });
  const [a, b] = await Promise.all([
    batcher.submit([event('a1')]),
    batcher.submit([event('b1'), event('b2')]),
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
  const batcher = createBatcher(forward, { maxEvents: 2, maxWaitMs: 60_000, maxPending: 3 });
  const first = batcher.submit([event('1'), event('2')]);
  const refused = await batcher.submit([event('3'), event('4')]);
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
    maxEvents: 10,
    maxWaitMs: 1,
    maxPending: 100,
  });
  const results = await Promise.all([batcher.submit([event('x')]), batcher.submit([event('y')])]);
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
