// Dedup claims in the real Redis (guarantee 2): the first record of an id claims it, a copy at
// another offset is a duplicate (in the same batch or a later one), the claiming record itself
// claims again after a crash, and every answer matches a model kept in the test, for any id a JSON
// string can carry and for batches past the script's chunk size.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import type { Dedup, DedupClaim } from '../src/stores/dedup-claims.ts';
import { claimHash, createDedup } from '../src/stores/dedup-claims.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const HORIZON = 24 * HOUR;

let redis: Redis;
let prefix: string;
let dedup: Dedup;

before(() => {
  redis = new Redis(stackEnv().redisUrl);
  prefix = `${uniqueName('dedup')}:`;
  dedup = createDedup({ redis, prefix });
});

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const claim = (id: string, offset: number, time = T0, tenant = 'default'): DedupClaim => ({
  tenant,
  id,
  time,
  offset: BigInt(offset),
});

/** What the claims must answer: per (tenant, hour, id), the offset of the first record to claim it. */
function modelAnswers(holders: Map<string, bigint>, claims: readonly DedupClaim[]): boolean[] {
  return claims.map((c) => {
    const key = `${c.tenant}\u0000${Math.floor(c.time / HOUR)}\u0000${c.id}`;
    const holder = holders.get(key);
    if (holder === undefined) holders.set(key, c.offset);
    return holder === undefined || holder === c.offset;
  });
}

test('the first copy claims, a copy at another offset is a duplicate, the claimant itself claims again', async () => {
  const first = await dedup.claim('s1', 0, HORIZON, [claim('a', 1), claim('b', 2), claim('a', 3)]);
  assert.deepEqual(first, [true, true, false], 'a copy later in the same batch is a duplicate');
  // A batch replayed after a crash finds its own offsets: it counts again what it never committed.
  const replay = await dedup.claim('s1', 0, HORIZON, [claim('a', 1), claim('b', 2), claim('c', 4)]);
  assert.deepEqual(replay, [true, true, true]);
  const resent = await dedup.claim('s1', 0, HORIZON, [claim('b', 9), claim('c', 10), claim('d', 11)]);
  assert.deepEqual(resent, [false, false, true], 'a client retry in a later batch is a duplicate');
});

test('claims are per stream, partition, tenant and event time', async () => {
  const claims = [claim('x', 1), claim('x', 2, T0, 'other'), claim('x', 3, T0 + HOUR), claim('x', 4)];
  assert.deepEqual(await dedup.claim('s2', 0, HORIZON, claims), [true, true, true, false]);
  assert.deepEqual(await dedup.claim('s2', 1, HORIZON, [claim('x', 5)]), [true]);
  assert.deepEqual(await dedup.claim('s3', 0, HORIZON, [claim('x', 6)]), [true]);
  // Each bucket holds its claims for the horizon (refreshed by every write).
  const keys = await redis.keys(`${prefix}{s2|0}:*`);
  assert.equal(keys.length, 3);
  for (const key of keys) {
    const ttl = await redis.pttl(key);
    assert.ok(ttl > HORIZON - 60_000 && ttl <= HORIZON, `${key} expires in ${ttl} ms`);
  }
});

test('any id a JSON string can carry is claimed as itself', async () => {
  const ids = [
    '12345',
    'with spaces and "quotes"',
    'back\\slash',
    'line\nbreak\ttab',
    'nul\u0000byte',
    '[1,2,3]',
    'é-ü-中文',
    'astral 😀',
    'lone \ud800 surrogate',
    'x'.repeat(128),
  ];
  const firsts = await dedup.claim(
    's4',
    0,
    HORIZON,
    ids.map((id, index) => claim(id, index)),
  );
  assert.deepEqual(
    firsts,
    ids.map(() => true),
  );
  const copies = await dedup.claim(
    's4',
    0,
    HORIZON,
    ids.map((id, index) => claim(id, 100 + index)),
  );
  assert.deepEqual(
    copies,
    ids.map(() => false),
    'every copy is recognised',
  );
  // The bucket holds the id's 8-byte hash and the claimant's offset.
  const { field, sub } = claimHash('é-ü-中文');
  const bucket = `${prefix}{s4|0}:default:${Math.floor(T0 / 10_000).toString(36)}:${sub.toString(36)}`;
  assert.equal(await redis.hget(bucket, field), '6');
});

test('claims of the earlier layout (the id as field of an hourly hash) are still found', async () => {
  // Written before an upgrade: a copy of that event is still a duplicate, its claimant still claims.
  const hourly = `${prefix}{s7|0}:default:${Math.floor(T0 / HOUR) * HOUR}`;
  await redis.hset(hourly, 'written-earlier', '77');
  await redis.pexpire(hourly, HORIZON);
  const fresh = createDedup({ redis, prefix });
  assert.deepEqual(
    await fresh.claim('s7', 0, HORIZON, [
      claim('written-earlier', 78),
      claim('written-earlier', 77),
      claim('new', 79),
    ]),
    [false, true, true],
  );
  assert.deepEqual(await fresh.claim('s7', 0, HORIZON, [claim('new', 80), claim('written-earlier', 81)]), [
    false,
    false,
  ]);
});

test('claims are compact: small listpack hashes of 8-byte fields', async () => {
  // 1,000 events/s over 6 partitions, for a minute of event time on one partition.
  const claims = Array.from({ length: 10_000 }, (_, i) => claim(`compact-${i}`, i, T0 + i * 6));
  for (let i = 0; i < claims.length; i += 500) await dedup.claim('s8', 0, HORIZON, claims.slice(i, i + 500));
  const keys = await redis.keys(`${prefix}{s8|0}:*`);
  let bytes = 0;
  for (const key of keys) {
    assert.equal(await redis.object('ENCODING', key), 'listpack', key);
    bytes += Number(await redis.memory('USAGE', key));
  }
  assert.ok(bytes / claims.length < 32, `${(bytes / claims.length).toFixed(1)} B a claim`);
});

test('a batch past the script chunk size, with copies across and within batches, matches the model', async () => {
  const holders = new Map<string, bigint>();
  let offset = 0;
  const batches: DedupClaim[][] = [];
  for (let batch = 0; batch < 3; batch++) {
    const claims: DedupClaim[] = [];
    for (let i = 0; i < 3_000; i++) {
      // Ids repeat within a batch and across batches; times span two hours, so two buckets, each
      // with more new claims than the script writes in one chunk.
      const n = batch * 1_000 + ((i * 7) % 2_600);
      claims.push(claim(`tx-${n}`, offset, T0 + (n % 2) * HOUR + n));
      offset += 1;
    }
    // A replayed record (its own offset again) must claim again.
    claims.push(claims[0] ?? claim('none', 0));
    batches.push(claims);
  }
  // Every record of the first batch resent at new offsets: each one a duplicate, wherever it falls.
  batches.push((batches[0] ?? []).map((c) => ({ ...c, offset: c.offset + 100_000n })));
  for (const [index, claims] of batches.entries()) {
    const expected = modelAnswers(holders, claims);
    assert.deepEqual(await dedup.claim('s5', 0, HORIZON, claims), expected, `batch ${index}`);
  }
  assert.ok(
    batches.slice(0, 3).every((claims) => {
      const answers = modelAnswers(new Map(), claims);
      return answers.includes(false) && answers.includes(true);
    }),
    'each of the first batches has both answers',
  );
});

test('a Redis that forgot its scripts (restarted or flushed) loads the claim script again', async () => {
  assert.deepEqual(await dedup.claim('s6', 0, HORIZON, [claim('r', 1)]), [true]);
  await redis.script('FLUSH');
  assert.deepEqual(await dedup.claim('s6', 0, HORIZON, [claim('r', 2), claim('q', 3)]), [false, true]);
});
