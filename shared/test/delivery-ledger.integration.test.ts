// The webhook delivery ledger in real Redis (guarantee 5 for webhooks: a redelivery within the
// stream's dedup horizon is counted once): the first copy is recorded with its receive time and
// expires after the horizon, so the ledger stays bounded; later copies read the first time back;
// forgetting an attempt's entry takes only that attempt's.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { deliveryLedger } from '../src/webhooks/delivery-ledger.ts';
import { stackEnv, uniqueName } from './harness.ts';
import { deleteRedisKeys } from './services.ts';

describe('delivery ledger', () => {
  const prefix = `${uniqueName('ledger')}:`;
  let redis: Redis;

  before(() => {
    redis = new Redis(stackEnv().redisUrl);
  });
  after(async () => {
    await redis.quit();
    await deleteRedisKeys(stackEnv().redisUrl, `${prefix}*`);
  });

  const keysOf = (source: string) => redis.keys(`${prefix}wh:${source}:*`);

  it('records a first copy for exactly the horizon, and a redelivery reads the first time back', async () => {
    const ledger = deliveryLedger(redis, { prefix });
    const horizonMs = 7 * 24 * 3_600_000;
    const first = await ledger.firstSeen('src1', 'delivery-1', 1_000, horizonMs);
    assert.deepEqual(first, { firstSeenMs: 1_000, recorded: true });
    const [key, ...more] = await keysOf('src1');
    assert.equal(more.length, 0, 'one key per delivery');
    assert.ok(key !== undefined);
    // Bounded: the entry expires after the horizon (lost TTL = a ledger that only grows).
    const ttl = await redis.pttl(key);
    assert.ok(ttl > horizonMs - 60_000 && ttl <= horizonMs, `PTTL ${ttl} against a horizon of ${horizonMs}`);
    const again = await ledger.firstSeen('src1', 'delivery-1', 9_000, horizonMs);
    assert.deepEqual(again, { firstSeenMs: 1_000, recorded: false });
    assert.ok((await redis.pttl(key)) <= ttl, 'a redelivery does not extend the entry');
  });

  it('forgets only the attempt that recorded the entry, and a long delivery id stays one short key', async () => {
    const ledger = deliveryLedger(redis, { prefix });
    await ledger.firstSeen('src2', 'x'.repeat(10_000), 5_000, 60_000);
    const [key] = await keysOf('src2');
    assert.ok(key !== undefined && key.length < prefix.length + 40, `key ${key?.slice(0, 80)}`);
    await ledger.forget('src2', 'x'.repeat(10_000), 4_000);
    assert.equal((await keysOf('src2')).length, 1, "another attempt's forget leaves the entry");
    await ledger.forget('src2', 'x'.repeat(10_000), 5_000);
    assert.equal((await keysOf('src2')).length, 0);
  });
});
