// The in-process cache tier (units, over a stand-in for the Redis tier): bounded by entries and
// by bytes, least recently used out first (guarantee 5); a complete answer is a hit only while its
// generation counters are the ones it was computed with (guarantee 3); a provisional one only
// within its TTL; what it cannot check it does not keep; peek (the hit path's lookup, no I/O)
// answers only what get would answer without a read.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationWatch } from '../src/generation-watch.ts';
import { withLocalTier } from '../src/local-cache.ts';
import type { CachedResponse, CacheLookup, ResponseCache } from '../src/response-cache.ts';

const answer = (body: string): CachedResponse => ({
  body: new TextEncoder().encode(body),
  etag: `"${body}"`,
  watermark: null,
});

/**
 * The Redis tier as a counter of lookups that reach it: it hits only for the keys in `stored`
 * (complete or provisional there), with the current generations `generations()`.
 */
function sharedTier(stored: Record<string, 'complete' | 'provisional'> = {}, generations = () => '1') {
  const calls: string[] = [];
  const tier: ResponseCache = {
    async get(key): Promise<CacheLookup> {
      calls.push(key);
      const kind = stored[key];
      if (kind === undefined) return { hit: undefined, generations: generations() };
      return { hit: answer(key), generations: generations(), complete: kind === 'complete' };
    },
    async set() {},
  };
  return { tier, calls };
}

function tierWith(options: {
  maxEntries?: number;
  maxBytes?: number;
  generations?: () => string;
  stored?: Record<string, 'complete' | 'provisional'>;
}) {
  let now = 0;
  const shared = sharedTier(options.stored, () => options.generations?.() ?? '1');
  const local = withLocalTier(shared.tier, {
    readGenerations: async (keys) => keys.map(() => options.generations?.() ?? '1'),
    maxEntries: options.maxEntries ?? 100,
    maxBytes: options.maxBytes ?? 1_000_000,
    settledTtlMs: 60_000,
    provisionalTtlMs: 1_000,
    now: () => now,
  });
  return { local, shared, advance: (ms: number) => (now += ms) };
}

const hits = async (local: ResponseCache, key: string) => (await local.get(key, ['g'])).hit !== undefined;

test('bounded by entries: the least recently used goes first', async () => {
  const { local } = tierWith({ maxEntries: 2 });
  await local.set('a', answer('a'), '1', true, ['g']);
  await local.set('b', answer('b'), '1', true, ['g']);
  assert.ok(await hits(local, 'a'), 'a is now the most recently used');
  await local.set('c', answer('c'), '1', true, ['g']);
  assert.equal(await hits(local, 'b'), false);
  assert.ok(await hits(local, 'a'));
  assert.ok(await hits(local, 'c'));
});

test('bounded by bytes, and a body over an eighth of the budget is not kept', async () => {
  const { local } = tierWith({ maxBytes: 700 });
  await local.set('big', answer('x'.repeat(100)), '1', true, ['g']); // 100 bytes: over 87.5
  assert.equal(await hits(local, 'big'), false);
  const keys = 'abcdefghi'.split('');
  for (const key of keys) await local.set(key, answer(key.repeat(80)), '1', true, ['g']);
  // 80 bytes each: eight fit in 700, so the ninth pushed the oldest out.
  assert.equal(await hits(local, 'a'), false);
  for (const key of keys.slice(1)) assert.ok(await hits(local, key));
});

test('a complete answer is a hit only while its generations are unchanged', async () => {
  let generation = '1';
  const { local, shared } = tierWith({ generations: () => generation });
  await local.set('k', answer('k'), '1', true, ['g']);
  assert.ok(await hits(local, 'k'));
  assert.deepEqual(shared.calls, []);
  generation = '2';
  assert.equal(await hits(local, 'k'), false, 'an amendment bumped the generation');
  assert.deepEqual(shared.calls, ['k']);
});

test('a provisional answer lives its TTL; an uncheckable complete one is not kept', async () => {
  const { local, advance } = tierWith({});
  await local.set('p', answer('p'), '1', false, ['g']);
  advance(999);
  assert.ok(await hits(local, 'p'));
  advance(2);
  assert.equal(await hits(local, 'p'), false);
  await local.set('unknown', answer('u'), null, true, ['g']);
  assert.equal(await hits(local, 'unknown'), false);
});

test('a complete answer found in Redis is kept here and checked like one made here', async () => {
  let generation = '1';
  const { local, shared } = tierWith({
    generations: () => generation,
    stored: { done: 'complete', open: 'provisional' },
  });
  assert.ok(await hits(local, 'done'));
  assert.ok(await hits(local, 'done'));
  assert.deepEqual(shared.calls, ['done'], 'the second hit needed no body from Redis');
  generation = '2';
  await hits(local, 'done');
  assert.deepEqual(shared.calls, ['done', 'done'], 'an amendment sends it back to Redis');
  assert.ok(await hits(local, 'open'));
  assert.ok(await hits(local, 'open'));
  assert.deepEqual(
    shared.calls.slice(2),
    ['open', 'open'],
    'a provisional one is not kept: its age is unknown',
  );
});

test('peek answers without I/O only what get would answer without a read', async () => {
  let now = 0;
  let epoch: number | undefined = 1;
  let reads = 0;
  const listeners: ((key: string | null) => void)[] = [];
  const watch: GenerationWatch = {
    armedEpoch: () => epoch,
    onInvalidate: (listener) => listeners.push(listener),
    close: async () => {},
  };
  const local = withLocalTier(sharedTier().tier, {
    readGenerations: async (keys) => {
      reads += 1;
      return keys.map(() => '1');
    },
    maxEntries: 2,
    maxBytes: 1_000_000,
    settledTtlMs: 60_000,
    provisionalTtlMs: 1_000,
    now: () => now,
    watch,
  });
  const peeked = (key: string) => local.peek?.(key) !== undefined;

  // Provisional: within its TTL, and never after it.
  await local.set('p', answer('p'), null, false, []);
  assert.ok(peeked('p'));
  now += 1_001;
  assert.equal(peeked('p'), false);

  // Complete: only once get has checked its counters in the armed epoch.
  await local.set('c', answer('c'), '1', true, ['g']);
  assert.equal(peeked('c'), false, 'not checked yet');
  assert.ok(await hits(local, 'c'));
  const checked = reads;
  assert.ok(peeked('c'));
  assert.equal(reads, checked, 'a peek reads nothing');
  epoch = 2;
  assert.equal(peeked('c'), false, 'a new epoch: checked again first');
  assert.ok(await hits(local, 'c'));
  assert.ok(peeked('c'));
  epoch = undefined;
  assert.equal(peeked('c'), false, 'disarmed');
  epoch = 3;
  assert.ok(await hits(local, 'c'));
  for (const listener of listeners) listener('g');
  assert.equal(peeked('c'), false, 'an invalidation of its counter drops it');
  now += 60_001;

  // A peek is a use: the least recently used goes first.
  await local.set('a', answer('a'), '1', true, ['g']);
  await local.set('b', answer('b'), '1', true, ['g']);
  assert.ok(await hits(local, 'a'));
  assert.ok(await hits(local, 'b'));
  assert.ok(peeked('a'));
  await local.set('d', answer('d'), '1', true, ['g']);
  assert.equal(peeked('b'), false, 'b was the least recently used');
  assert.equal((await local.get('b', ['g'])).hit, undefined);
  assert.ok(await hits(local, 'a'));
});
