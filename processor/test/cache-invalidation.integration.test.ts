// Guarantee 3, cache side, against the real Redis: a generation bump that fails while Redis is
// unreachable is kept and lands on a later flush (the processor's tick), so an amendment committed
// during an outage still makes the cached answers that predate it stale.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { generationKey } from '@sluice/shared/cache/window-generations';
import { createLogger } from '@sluice/shared/log';
import { Redis } from 'ioredis';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { countsByOutcome, outcomeCounter } from '../../shared/test/prometheus.ts';
import { createCacheInvalidator } from '../src/notify/cache-invalidation.ts';

const stack = stackEnv();
const prefix = `${uniqueName('invalidation')}:`;
const reader = new Redis(stack.redisUrl);

after(async () => {
  const keys = await reader.keys(`${prefix}*`);
  if (keys.length > 0) await reader.del(...keys);
  reader.disconnect();
});

test('bumps that fail while Redis is away are kept and land once it is back', async () => {
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => {});
  const bumps = outcomeCounter('bumps');
  const invalidator = createCacheInvalidator({ redis, prefix, log: createLogger('test', 'silent'), bumps });
  const scope = { tenant: 'default', stream: 'ecommerce', window: '1m' };
  const start = Date.parse('2026-05-01T10:07:00Z');
  const key = generationKey(prefix, scope, start);

  // Redis gone for this client (its connection closed, no offline queue): the bump fails and stays
  // pending.
  await new Promise((resolve) => redis.once('ready', resolve));
  const ended = new Promise((resolve) => redis.once('end', resolve));
  redis.disconnect();
  await ended;
  invalidator.amended([
    { ...scope, start },
    { ...scope, start: start + 60_000 },
  ]);
  await invalidator.flush();
  assert.deepEqual(
    await countsByOutcome(bumps),
    { retry: 1 },
    'one bucket (both windows share the hour), retried',
  );
  assert.equal(await reader.get(key), null, 'nothing bumped yet');

  // Back: the next flush (the processor's tick) bumps it, once.
  await redis.connect();
  await invalidator.flush();
  assert.equal(await reader.get(key), '1');
  assert.deepEqual(await countsByOutcome(bumps), { retry: 1, ok: 1 });
  await invalidator.flush();
  assert.equal(await reader.get(key), '1', 'nothing pending: no second bump');
  assert.ok((await reader.ttl(key)) > 0, 'generations expire');
  redis.disconnect();
});
