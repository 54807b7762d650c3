// Coalesced generation reads (units, over a recording stand-in for MGET): the reads of one turn go
// out as one MGET of the union of their keys, each read gets its own keys' values in its own order,
// a read asked after a send waits for the next one (so it sees what changed before it was asked:
// guarantee 3), a turn past the key cap sends more than one MGET, and a failed MGET fails its reads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MultiGet } from '../src/coalesced-reads.ts';
import { coalescedReads } from '../src/coalesced-reads.ts';

/** MGET over a map, recording each call's keys; `fail` makes the next call reject. */
function store(values: Record<string, string>) {
  const calls: string[][] = [];
  let fail = false;
  const mget: MultiGet = async (keys) => {
    calls.push([...keys]);
    if (fail) {
      fail = false;
      throw new Error('redis away');
    }
    return keys.map((key) => values[key] ?? null);
  };
  return { mget, calls, values, failNext: () => (fail = true) };
}

/** A turn ends when the test says so: deferred sends wait in a list. */
function manualTurns() {
  const pending: (() => void)[] = [];
  return {
    defer: (send: () => void) => pending.push(send),
    endTurn: () => {
      for (const send of pending.splice(0)) send();
    },
  };
}

test('one MGET per turn for every read of it; each read gets its keys in its order', async () => {
  const redis = store({ a: '1', b: '2', c: '3' });
  const turns = manualTurns();
  const read = coalescedReads(redis.mget, { maxKeys: 100, defer: turns.defer });
  const first = read(['a', 'b']);
  const second = read(['c', 'a', 'missing']);
  assert.deepEqual(redis.calls, [], 'nothing is sent before the turn ends');
  turns.endTurn();
  assert.deepEqual(await first, ['1', '2']);
  assert.deepEqual(await second, ['3', '1', null]);
  assert.deepEqual(redis.calls, [['a', 'b', 'c', 'missing']], 'one MGET, each key once');
});

test('a read asked after a send waits for the next MGET and sees a change made before it', async () => {
  const redis = store({ g: '1' });
  const turns = manualTurns();
  const read = coalescedReads(redis.mget, { maxKeys: 100, defer: turns.defer });
  const before = read(['g']);
  turns.endTurn();
  assert.deepEqual(await before, ['1']);
  redis.values.g = '2'; // an amendment bumped the generation
  const after = read(['g']);
  turns.endTurn();
  assert.deepEqual(await after, ['2'], 'not the value the earlier MGET saw');
  assert.equal(redis.calls.length, 2);
});

test('a turn past the key cap sends more than one MGET, none larger than the cap', async () => {
  const redis = store({});
  const turns = manualTurns();
  const read = coalescedReads(redis.mget, { maxKeys: 3, defer: turns.defer });
  const reads = [read(['a', 'b']), read(['c', 'd']), read(['e'])];
  turns.endTurn();
  assert.deepEqual(await Promise.all(reads), [[null, null], [null, null], [null]]);
  assert.deepEqual(redis.calls, [
    ['a', 'b'],
    ['c', 'd', 'e'],
  ]);
});

test('a failed MGET fails the reads it carried, and the next turn reads again', async () => {
  const redis = store({ g: '7' });
  const turns = manualTurns();
  const read = coalescedReads(redis.mget, { maxKeys: 100, defer: turns.defer });
  redis.failNext();
  const failed = [read(['g']), read(['h'])];
  turns.endTurn();
  for (const result of await Promise.allSettled(failed)) assert.equal(result.status, 'rejected');
  const next = read(['g']);
  turns.endTurn();
  assert.deepEqual(await next, ['7']);
});

test('with the default deferral, reads of one turn share one MGET', async () => {
  const redis = store({ a: '1', b: '2' });
  const read = coalescedReads(redis.mget, { maxKeys: 100 });
  assert.deepEqual(await Promise.all([read(['a']), read(['b']), read(['a'])]), [['1'], ['2'], ['1']]);
  assert.deepEqual(redis.calls, [['a', 'b']]);
});
