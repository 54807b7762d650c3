// Group commit (a unit, over a fake request): sends that arrive while a request is out leave
// together in the next one, in call order; each send is acknowledged only by its own request's
// answer and fails with it; no request carries more than the byte cap (a larger send is split);
// a send that gave up is not sent; and what is held stays counted until its request answers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupCommit } from '../src/kafka/group-commit.ts';

interface Pending {
  readonly records: string[];
  readonly answer: (error?: Error) => void;
}

function fakeBroker() {
  const requests: Pending[] = [];
  const request = (records: string[]) =>
    new Promise<void>((resolve, reject) => {
      requests.push({ records, answer: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  return { requests, request };
}

/** A group commit over a fake broker: 1,000 bytes a request and a 5 s request timeout unless told. */
function commitOverFake(options: { maxRequestBytes?: number; requestTimeoutMs?: number } = {}) {
  const broker = fakeBroker();
  const commit = groupCommit({
    request: broker.request,
    maxRequestBytes: options.maxRequestBytes ?? 1_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
  });
  return { broker, commit };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const sizesOf = (records: readonly string[]) => records.map((r) => r.length);
/** Whether a promise has settled, and how, without waiting for it. */
function watch(promise: Promise<void>) {
  const state: { settled: 'no' | 'ok' | 'failed' } = { settled: 'no' };
  promise.then(
    () => {
      state.settled = 'ok';
    },
    () => {
      state.settled = 'failed';
    },
  );
  return state;
}

test('sends that arrive while a request is out leave together next, in call order, each acked by its own request', async () => {
  const { broker, commit } = commitOverFake();
  const first = watch(commit.submit(['a1', 'a2'], sizesOf(['a1', 'a2']), 5_000));
  await turn();
  assert.equal(broker.requests.length, 1, 'the first send goes at once (no linger when idle)');
  const second = watch(commit.submit(['b1'], [2], 5_000));
  const third = watch(commit.submit(['c1', 'c2'], [2, 2], 5_000));
  await turn();
  assert.equal(broker.requests.length, 1, 'one request in flight at a time');
  assert.equal(commit.held, 5);

  broker.requests[0]?.answer();
  await turn();
  assert.equal(first.settled, 'ok');
  assert.equal(second.settled, 'no', 'not acked by a request that did not carry it');
  assert.deepEqual(broker.requests[1]?.records, ['b1', 'c1', 'c2'], 'merged, in call order');
  broker.requests[1]?.answer();
  await turn();
  assert.equal(second.settled, 'ok');
  assert.equal(third.settled, 'ok');
  assert.equal(commit.held, 0);
});

test('a failed request fails every send it carried, and only those', async () => {
  const { broker, commit } = commitOverFake();
  const first = watch(commit.submit(['a'], [1], 5_000));
  await turn();
  const second = watch(commit.submit(['b'], [1], 5_000));
  const third = watch(commit.submit(['c'], [1], 5_000));
  broker.requests[0]?.answer();
  await turn();
  broker.requests[1]?.answer(new Error('NOT_ENOUGH_REPLICAS'));
  await turn();
  const fourth = watch(commit.submit(['d'], [1], 5_000));
  await turn();
  broker.requests[2]?.answer();
  await turn();
  assert.deepEqual(
    [first.settled, second.settled, third.settled, fourth.settled],
    ['ok', 'failed', 'failed', 'ok'],
  );
  assert.equal(commit.held, 0);
});

test('no request carries more than the byte cap: merging stops short of it and a larger send is split', async () => {
  const { broker, commit } = commitOverFake({ maxRequestBytes: 10 });
  const blocker = watch(commit.submit(['x'], [1], 5_000));
  await turn();
  const big = Array.from({ length: 12 }, (_, i) => `b${i.toString().padStart(2, '0')}`);
  const small = watch(commit.submit(['s1', 's2'], [2, 2], 5_000));
  const large = watch(commit.submit(big, sizesOf(big), 5_000));
  // A single record larger than the cap still goes, alone.
  const huge = watch(commit.submit(['h'.repeat(25)], [25], 5_000));
  // Answer each request as it goes out, until the last send is acknowledged.
  for (let answered = 0; huge.settled === 'no' && answered < 20; answered++) {
    await turn();
    broker.requests[answered]?.answer();
    await turn();
  }
  assert.equal(blocker.settled, 'ok');
  assert.equal(small.settled, 'ok');
  assert.equal(large.settled, 'ok');
  assert.equal(huge.settled, 'ok');
  const carried = broker.requests.map((r) => r.records);
  assert.deepEqual(carried.flat(), ['x', 's1', 's2', ...big, 'h'.repeat(25)], 'every record once, in order');
  for (const records of carried.slice(0, -1))
    assert.ok(records.join('').length <= 10, `request ${JSON.stringify(records)} within the cap`);
  assert.deepEqual(carried[2], ['b00', 'b01', 'b02'], 'the large send split at the cap');
});

test('a send that gave up is not sent, and what it held is released once dropped', async () => {
  const { broker, commit } = commitOverFake({ requestTimeoutMs: 60_000 });
  const blocker = watch(commit.submit(['x'], [1], 60_000));
  await turn();
  const impatient = watch(commit.submit(['late1', 'late2'], [5, 5], 20));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(impatient.settled, 'failed', 'its caller got its failure (a 503) in time');
  assert.equal(commit.held, 3, 'queued records stay counted until dropped or answered');
  const patient = watch(commit.submit(['p'], [1], 60_000));
  broker.requests[0]?.answer();
  await turn();
  assert.deepEqual(broker.requests[1]?.records, ['p'], 'the abandoned send is not in the next request');
  broker.requests[1]?.answer();
  await turn();
  assert.equal(blocker.settled, 'ok');
  assert.equal(patient.settled, 'ok');
  assert.equal(commit.held, 0);
});

test('a request that never answers fails its sends after the request timeout, and the next one goes', async () => {
  const { broker, commit } = commitOverFake({ requestTimeoutMs: 200 });
  const stuck = watch(commit.submit(['a'], [1], 5_000));
  await turn();
  const next = watch(commit.submit(['b'], [1], 5_000));
  while (broker.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(stuck.settled, 'failed');
  assert.deepEqual(broker.requests[1]?.records, ['b']);
  broker.requests[1]?.answer();
  await commit.drained();
  await turn();
  assert.equal(next.settled, 'ok');
  assert.equal(commit.held, 0);
});

test('drained() resolves only after every queued record had its answer', async () => {
  const { broker, commit } = commitOverFake();
  void commit.submit(['a'], [1], 5_000);
  await turn();
  void commit.submit(['b'], [1], 5_000);
  const drained = watch(commit.drained());
  broker.requests[0]?.answer();
  await turn();
  assert.equal(drained.settled, 'no', 'b is still queued');
  broker.requests[1]?.answer();
  await turn();
  assert.equal(drained.settled, 'ok');
});
