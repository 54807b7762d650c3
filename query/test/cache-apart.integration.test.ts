// The response cache is kept apart from the working state (issue 20, item 7): its entries go to
// the cache Redis (its own maxmemory, allkeys-lru), never to the state Redis (noeviction), where
// the generation counters stay. Guarantee 3 holds across the two: an entry read from the cache
// Redis is a hit only while the counters read from the state Redis are the ones it was made with.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generationKeyPrefix, generationKeys } from '@sluice/shared/cache/window-generations';
import { Redis } from 'ioredis';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { deleteRedisKeys } from '../../shared/test/services.ts';
import { throwawayRedis } from '../../shared/test/throwaway-redis.ts';
import { createResponseCache } from '../src/response-cache.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { cacheRedisUrlOf, startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-04T10:00:00Z');
let h: QueryHarness;

before(async () => {
  h = await startQuery('cacheapart');
  const rows: SeededRow[] = [0, 1, 2].map((m) => ({
    start: T0 + m * 60_000,
    category: 'Books',
    sales: [{ category: 'Books', amount: 10, user: 'u', time: T0 + m * 60_000 }],
    status: 'settled',
    version: 1,
  }));
  await h.write(rows, T0 + 3_600_000);
});

after(() => h.close());

async function keysOf(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

test('answers are cached in the cache Redis; the state Redis holds only the generation counters', async () => {
  const prefix = h.iso.env.SLUICE_CACHE_PREFIX ?? '';
  const response = await h.app.request(`/v1/streams/ecommerce/windows?from=${T0}&to=${T0 + 600_000}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-cache'), 'miss');
  await h.bumpGeneration(T0);
  const inCache = await keysOf(h.cacheRedis, `${prefix}*`);
  const inState = await keysOf(h.redis, `${prefix}*`);
  assert.equal(inCache.length, 1, `one entry in the cache Redis: ${inCache.join(', ')}`);
  assert.ok(
    inState.every((k) => k.startsWith(generationKeyPrefix(prefix))),
    `only counters in the state Redis: ${inState.join(', ')}`,
  );
  assert.ok(inState.length > 0);
});

test('across the two instances an amended range is never served from the cache after its bump', async () => {
  const prefix = `${uniqueName('apart')}:`;
  const state = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
  const entries = new Redis(cacheRedisUrlOf(), { maxRetriesPerRequest: 1 });
  try {
    const cache = createResponseCache(
      { entries, generations: state },
      { prefix, settledTtlSeconds: 60, provisionalTtlSeconds: 2 },
    );
    const keys = generationKeys(prefix, { tenant: 'default', stream: 's', window: '1m' }, T0, T0 + 7_200_000);
    assert.ok(keys !== null && keys.length === 2);
    const before = await cache.get('k', keys);
    assert.equal(before.hit, undefined);
    assert.equal(before.generations, '0,0');
    const body = new TextEncoder().encode('{"data":[]}');
    await cache.set('k', { body, etag: '"e"', watermark: null }, before.generations, true, keys);
    const hit = await cache.get('k', keys);
    assert.ok(hit.hit, 'a hit while the counters are unchanged');
    assert.equal(hit.complete, true);
    // The processor's bump, after its commit, in the state Redis.
    await state.incr(keys[1] ?? '');
    const after = await cache.get('k', keys);
    assert.equal(after.hit, undefined, 'never served after the bump');
    assert.equal(after.generations, '0,1');
    // With the cache Redis away, lookups are misses (answers come from PostgreSQL), never errors.
    const gone = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    gone.on('error', () => {});
    const away = createResponseCache(
      { entries: gone, generations: state },
      { prefix, settledTtlSeconds: 60, provisionalTtlSeconds: 2 },
    );
    assert.deepEqual(await away.get('k', keys), { hit: undefined, generations: null });
    gone.disconnect();
  } finally {
    await deleteRedisKeys(stackEnv().redisUrl, `${prefix}*`);
    await deleteRedisKeys(cacheRedisUrlOf(), `${prefix}*`);
    await state.quit();
    await entries.quit();
  }
});

test('a full cache Redis evicts old answers and keeps taking new ones; the state Redis does not grow', async () => {
  // A throw-away instance set as deploy/local/lib/redis.sh sets the cache one, with a tiny bound.
  const cacheRedis = await throwawayRedis(['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru']);
  const entries = cacheRedis.client;
  const state = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
  const prefix = `${uniqueName('full')}:`;
  try {
    const cache = createResponseCache(
      { entries, generations: state },
      { prefix, settledTtlSeconds: 3_600, provisionalTtlSeconds: 3_600 },
    );
    const memory = async (redis: Redis) =>
      Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const stateBefore = await memory(state);
    const body = new Uint8Array(64 * 1024).fill(120);
    // 40 MB of answers into a 4 MB cache.
    for (let i = 0; i < 640; i += 1)
      await cache.set(`k${i}`, { body, etag: `"${i}"`, watermark: null }, null, false);
    const last = await cache.get('k639', []);
    assert.ok(last.hit, 'the newest answer was taken');
    assert.equal((await cache.get('k0', [])).hit, undefined, 'the oldest was evicted');
    assert.equal(Number(/evicted_keys:(\d+)/.exec(await entries.info('stats'))?.[1] ?? 0) > 500, true);
    assert.ok((await memory(entries)) <= 5 * 1024 * 1024, 'the cache Redis stays near its bound');
    // Nothing of it went to the state Redis (other helpers' tests share it: a loose bound).
    assert.ok((await memory(state)) - stateBefore < 8 * 1024 * 1024);
    assert.equal((await state.keys(`${prefix}*`)).length, 0);
  } finally {
    await state.quit();
    cacheRedis.stop();
  }
});
