// The local Redis is real: values round-trip through ioredis, MULTI/EXEC applies atomically, and
// the state instance runs with the AOF durability and the noeviction the window state relies on.
// The cache instance is apart: its own bound, evicting least recently used, no persistence, so
// the query service's response cache can fill it and never the state instance.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { stackEnv, uniqueName } from '../../../shared/test/harness.ts';

const env = stackEnv();
const redis = new Redis(env.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
const prefix = uniqueName('stack-test');

after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

test('a value written is read back', async () => {
  await redis.set(`${prefix}:greeting`, 'hello sluice', 'EX', 60);
  assert.equal(await redis.get(`${prefix}:greeting`), 'hello sluice');
  assert.ok((await redis.ttl(`${prefix}:greeting`)) > 0);
});

test('MULTI/EXEC writes state and its offset together', async () => {
  // A hash tag keeps both keys in one Redis Cluster slot, as window state and offsets will be.
  const state = `${prefix}:{p0}:state`;
  const offset = `${prefix}:{p0}:offset`;
  const results = await redis.multi().hincrby(state, 'count', 3).set(offset, '42').exec();
  assert.ok(results);
  assert.deepEqual(
    results.map(([error]) => error),
    [null, null],
  );
  assert.equal(await redis.hget(state, 'count'), '3');
  assert.equal(await redis.get(offset), '42');
});

test('the state instance persists with AOF, fsync every second, and never evicts', async () => {
  const aof = (await redis.config('GET', 'appendonly')) as string[];
  const fsync = (await redis.config('GET', 'appendfsync')) as string[];
  assert.deepEqual(aof, ['appendonly', 'yes']);
  assert.deepEqual(fsync, ['appendfsync', 'everysec']);
  assert.deepEqual(await redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
});

test('the cache instance is another one, bounded, evicting least recently used, not persisted', async () => {
  const url = process.env.SLUICE_CACHE_REDIS_URL;
  assert.ok(url, 'SLUICE_CACHE_REDIS_URL is exported by ./sluice test');
  assert.notEqual(url, env.redisUrl);
  const cache = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    const [, maxmemory = '0'] = (await cache.config('GET', 'maxmemory')) as string[];
    assert.ok(Number(maxmemory) > 0, 'a maxmemory of its own');
    assert.deepEqual(await cache.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'allkeys-lru']);
    assert.deepEqual(await cache.config('GET', 'appendonly'), ['appendonly', 'no']);
    assert.deepEqual(await cache.config('GET', 'save'), ['save', '']);
    // Two instances: a key written to one is not in the other.
    const key = `${prefix}:apart`;
    await cache.set(key, '1', 'EX', 60);
    assert.equal(await redis.exists(key), 0);
    await cache.del(key);
  } finally {
    await cache.quit();
  }
});
