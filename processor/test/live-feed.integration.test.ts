// The live feed against the real Redis: one entry per commit (rows and merged-away sessions in
// it), trimmed to about FEED_MAX_LEN entries however many commits come (guarantee 5: bounded
// memory), and with Redis away a publish drops its updates, counts them and never throws.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { FEED_MAX_LEN, feedKey } from '@sluice/shared/live/window-updates';
import { createLogger } from '@sluice/shared/log';
import { Redis } from 'ioredis';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { countsByOutcome, outcomeCounter } from '../../shared/test/prometheus.ts';
import { freePort } from '../../shared/test/services.ts';
import { createLiveFeed } from '../src/notify/live-feed.ts';
import type { WindowRowWrite } from '../src/stores/postgres-rows.ts';

const stack = stackEnv();
const prefix = `${uniqueName('live-feed')}:`;
const redis = new Redis(stack.redisUrl);
const T0 = Date.parse('2026-05-01T00:00:00Z');

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function row(minute: number, count: number): WindowRowWrite {
  return {
    tenant: 'default',
    stream: 'ecommerce',
    window: '1m',
    start: T0 + minute * 60_000,
    end: T0 + (minute + 1) * 60_000,
    key: 'Books',
    values: { count },
    state: { count },
    status: 'provisional',
    version: 1,
    partition: 0,
  };
}

test('one entry per commit, merged-away sessions marked removed', async () => {
  const published = outcomeCounter('live');
  const feed = createLiveFeed({ redis, prefix, log: createLogger('test', 'silent'), published });
  const gone = { tenant: 'default', stream: 'ecommerce', window: '1m', start: T0 - 60_000, key: 'Books' };
  await feed.publish([row(0, 3), row(1, 4)], [gone], 'a'.repeat(32));
  const entries = await redis.xrange(feedKey(prefix, 'default', 'ecommerce'), '-', '+');
  assert.equal(entries.length, 1);
  const [, fields] = entries[0] ?? ['', []];
  const updates = JSON.parse(fields[1] ?? '[]') as WindowUpdate[];
  assert.deepEqual(
    updates.map((u) => [u.window_start, u.values.count ?? null, u.removed, u.trace_id]),
    [
      [new Date(T0).toISOString(), 3, false, 'a'.repeat(32)],
      [new Date(T0 + 60_000).toISOString(), 4, false, 'a'.repeat(32)],
      [new Date(T0 - 60_000).toISOString(), null, true, 'a'.repeat(32)],
    ],
  );
  assert.deepEqual(await countsByOutcome(published), { ok: 3 });
});

test('the feed stays bounded: past FEED_MAX_LEN commits, the oldest entries are trimmed', async () => {
  const published = outcomeCounter('live');
  const feed = createLiveFeed({ redis, prefix, log: createLogger('test', 'silent'), published });
  const commits = FEED_MAX_LEN + 2_500;
  for (let i = 0; i < commits; i += 500)
    await Promise.all(
      Array.from({ length: Math.min(500, commits - i) }, (_, j) =>
        feed.publish([row(i + j, 1)], [], undefined),
      ),
    );
  const key = feedKey(prefix, 'default', 'ecommerce');
  const length = await redis.xlen(key);
  // Approximate trimming removes whole macro-nodes (100 entries by default): never more kept than
  // the bound plus one node, never fewer than the bound.
  assert.ok(length >= FEED_MAX_LEN && length <= FEED_MAX_LEN + 100, `XLEN ${length}`);
  // What is kept is the newest: the last commit's window is the last entry.
  const [last] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  const updates = JSON.parse(last?.[1][1] ?? '[]') as WindowUpdate[];
  assert.equal(updates[0]?.window_start, new Date(T0 + (commits - 1) * 60_000).toISOString());
});

test('with Redis away a publish drops its updates, counts them and does not throw', async () => {
  const away = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
  });
  away.on('error', () => {});
  const published = outcomeCounter('live');
  const feed = createLiveFeed({ redis: away, prefix, log: createLogger('test', 'silent'), published });
  await feed.publish([row(0, 1), row(1, 1)], [], undefined);
  assert.deepEqual(await countsByOutcome(published), { dropped: 2 });
  away.disconnect();
});
