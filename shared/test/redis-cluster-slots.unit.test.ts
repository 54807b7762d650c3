// One SLUICE_REDIS_URL names a server or a Redis Cluster (shared/src/redis/): the URL forms, and
// multi-key work split one group per slot on a cluster (CROSSSLOT otherwise) and kept whole on a
// single server. The clients here never connect.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { generationKey } from '../src/cache/window-generations.ts';
import { createRedis, isCluster } from '../src/redis/client.ts';
import { groupBySlot } from '../src/redis/slots.ts';
import { parseRedisTarget } from '../src/redis/target.ts';

test('redis://, rediss:// and redis+cluster:// are read; anything else names what is wrong', () => {
  assert.deepEqual(parseRedisTarget('redis://127.0.0.1:6379'), {
    kind: 'single',
    url: 'redis://127.0.0.1:6379',
  });
  assert.deepEqual(parseRedisTarget('redis+cluster://127.0.0.1:7001,redis-b:7002,[::1]:7003'), {
    kind: 'cluster',
    nodes: [
      { host: '127.0.0.1', port: 7001 },
      { host: 'redis-b', port: 7002 },
      { host: '::1', port: 7003 },
    ],
  });
  for (const bad of [
    'http://x:1',
    'redis+cluster://',
    'redis+cluster://a:0',
    'redis+cluster://a:1,b',
    'nonsense',
  ])
    assert.ok(parseRedisTarget(bad) instanceof Error, bad);
});

test('a cluster URL makes a cluster client, a server URL a single one', () => {
  const cluster = createRedis('redis+cluster://127.0.0.1:7001', { lazyConnect: true });
  const single = createRedis('redis://127.0.0.1:6379', { lazyConnect: true });
  try {
    assert.ok(isCluster(cluster) && cluster instanceof Cluster);
    assert.ok(!isCluster(single) && single instanceof Redis);
  } finally {
    cluster.disconnect();
    single.disconnect();
  }
});

test('on a cluster, keys go one group per slot; a hash tag keeps keys together', () => {
  const cluster = new Cluster([{ host: '127.0.0.1', port: 7001 }], { lazyConnect: true });
  try {
    const scope = (tenant: string) => ({ tenant, stream: 'ecommerce', window: '1m' });
    // One tenant's generations share {tenant|stream}: one group; two tenants: two slots.
    const sameTag = [generationKey('p:', scope('a'), 0), generationKey('p:', scope('a'), 60_000)];
    assert.equal(groupBySlot(cluster, sameTag, (k) => k).length, 1);
    const keys = [...sameTag, generationKey('p:', scope('b'), 0), generationKey('p:', scope('zz'), 0)];
    const groups = groupBySlot(cluster, keys, (k) => k);
    assert.ok(groups.length >= 2);
    assert.deepEqual(groups.flat().toSorted(), keys.toSorted(), 'every key in exactly one group');
    assert.deepEqual(groups[0]?.slice(0, 2), sameTag, 'first-seen order kept');
  } finally {
    cluster.disconnect();
  }
});

test('on a single server every key is one group (and no keys no group)', () => {
  const single = new Redis({ lazyConnect: true });
  try {
    assert.deepEqual(
      groupBySlot(single, ['a', '{x}b', 'c'], (k) => k),
      [['a', '{x}b', 'c']],
    );
    assert.deepEqual(
      groupBySlot(single, [], (k: string) => k),
      [],
    );
  } finally {
    single.disconnect();
  }
});
