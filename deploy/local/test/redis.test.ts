// The local Redis is real: values round-trip through ioredis, MULTI/EXEC applies atomically, and
// the instance runs with the AOF durability the window state relies on.

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

test('the instance persists with AOF, fsync every second', async () => {
  const aof = (await redis.config('GET', 'appendonly')) as string[];
  const fsync = (await redis.config('GET', 'appendfsync')) as string[];
  assert.deepEqual(aof, ['appendonly', 'yes']);
  assert.deepEqual(fsync, ['appendfsync', 'everysec']);
});
