// Rate limits and quotas in Redis (real Redis): GCRA per key, a request admitted whole or refused
// whole, a daily quota per tenant, the IETF RateLimit headers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Admission } from '../src/auth/admission.ts';
import { createAdmission } from '../src/auth/admission.ts';
import type { Principal } from '../src/auth/principal.ts';
import { stackEnv, uniqueName, waitFor } from './harness.ts';
import { deleteRedisKeys } from './services.ts';
import { throwawayRedis } from './throwaway-redis.ts';

const principal = (keyId: string, limits: Principal['limits'], tenant = 'acme'): Principal => ({
  keyId,
  tenant,
  scopes: ['events:write'],
  expiresAt: null,
  limits,
});

describe('admission', () => {
  const prefix = `${uniqueName('admission')}:`;
  let redis: Redis;
  let admission: Admission;

  before(() => {
    redis = new Redis(stackEnv().redisUrl);
    admission = createAdmission(redis, { prefix });
  });
  after(async () => {
    await redis.quit();
    await deleteRedisKeys(stackEnv().redisUrl, `${prefix}*`);
  });

  it('admits a key without limits without asking Redis, and sends no headers', async () => {
    const verdict = await createAdmission(new Redis({ lazyConnect: true, port: 1 }), { prefix }).admit(
      principal('free', {}),
      { events: 1_000_000, requests: 1 },
    );
    assert.deepEqual(verdict, { allowed: true, retryAfterMs: 0, headers: {} });
  });

  it('takes one second of burst, then refuses whole requests, then admits again after Retry-After', async () => {
    const p = principal('ev', { eventsPerSecond: 100 });
    const first = await admission.admit(p, { events: 60, requests: 1 });
    assert.equal(first.allowed, true);
    assert.equal(first.headers['RateLimit-Policy'], '"events";q=100;w=1');
    assert.match(first.headers.RateLimit ?? '', /^"events";r=40;t=1$/);
    // 60 + 90 > 100: refused whole; nothing of it is taken, so 40 still fit. The refused asks are
    // most of a second of debt beyond the burst, so a slow machine (up to ~500 ms from the first
    // ask to the fourth) cannot turn a refusal into an admission: 1 event is 10 ms at 100/s.
    const second = await admission.admit(p, { events: 90, requests: 1 });
    assert.equal(second.allowed, false);
    assert.equal(second.refusedBy, 'events');
    assert.ok(second.retryAfterMs > 0 && second.retryAfterMs <= 1_000, String(second.retryAfterMs));
    const third = await admission.admit(p, { events: 40, requests: 1 });
    assert.equal(third.allowed, true, 'the refused request took nothing');
    assert.equal(
      (await admission.admit(p, { events: 90, requests: 1 })).allowed,
      false,
      'the bucket is empty',
    );
    await new Promise((resolve) => setTimeout(resolve, 120));
    // 100 events/s: ~12 more fit after 120 ms.
    assert.equal((await admission.admit(p, { events: 10, requests: 1 })).allowed, true);
  });

  it('lets a request larger than a burst through only when the bucket is full, then makes it wait', async () => {
    const p = principal('big', { eventsPerSecond: 10 });
    assert.equal((await admission.admit(p, { events: 40, requests: 1 })).allowed, true);
    const after = await admission.admit(p, { events: 1, requests: 1 });
    assert.equal(after.allowed, false);
    assert.ok(after.retryAfterMs > 1_000, `the debt of 40 events at 10/s: ${after.retryAfterMs} ms`);
  });

  it('limits requests per second apart from events', async () => {
    // 2 a second: a request is 500 ms of refill, more than a slow machine's four round trips.
    const p = principal('rq', { requestsPerSecond: 2 });
    const verdicts = [];
    for (let i = 0; i < 4; i += 1) verdicts.push(await admission.admit(p, { events: 0, requests: 1 }));
    assert.deepEqual(
      verdicts.map((v) => v.allowed),
      [true, true, false, false],
    );
    assert.equal(verdicts[2]?.refusedBy, 'requests');
    assert.equal(verdicts[0]?.headers['RateLimit-Policy'], '"requests";q=2;w=1');
  });

  it('keeps keys apart: one key at its limit does not slow another of the same tenant', async () => {
    const a = principal('a', { eventsPerSecond: 5 });
    const b = principal('b', { eventsPerSecond: 5 });
    assert.equal((await admission.admit(a, { events: 5, requests: 1 })).allowed, true);
    assert.equal((await admission.admit(a, { events: 5, requests: 1 })).allowed, false);
    assert.equal((await admission.admit(b, { events: 5, requests: 1 })).allowed, true);
  });

  it('holds a tenant to its daily quota of accepted events, and reports usage against it', async () => {
    const p = principal('q', { dailyEvents: 100 }, 'quota-co');
    assert.equal((await admission.admit(p, { events: 80, requests: 1 })).allowed, true);
    await admission.countAccepted(new Map([['quota-co', 80]]));
    const over = await admission.admit(p, { events: 30, requests: 1 });
    assert.equal(over.allowed, false);
    assert.equal(over.refusedBy, 'daily');
    assert.ok(over.retryAfterMs <= 86_400_000);
    assert.match(over.headers.RateLimit ?? '', /^"daily";r=20;t=\d+$/);
    assert.equal((await admission.admit(p, { events: 20, requests: 1 })).allowed, true);
    const usage = await admission.usage(p);
    assert.equal(usage.tenant, 'quota-co');
    assert.equal(usage.events, 80);
    assert.equal(usage.quota, 100);
    assert.equal(usage.remaining, 20);
    assert.equal(usage.day, new Date().toISOString().slice(0, 10));
    assert.ok(Date.parse(usage.resetsAt) > Date.now());
    // Another tenant's usage is its own.
    assert.equal((await admission.usage(principal('x', {}, 'other-co'))).events, 0);
  });

  it('tallies usage in memory with usageFlushMs and adds it in one round trip, or at close', async () => {
    // A second's interval: a loaded machine cannot pass it between the tallies and the first read.
    const tallying = createAdmission(redis, { prefix, usageFlushMs: 1_000 });
    const p = principal('tally', {}, 'tally-co');
    await tallying.countAccepted(new Map([['tally-co', 3]]));
    await tallying.countAccepted(
      new Map([
        ['tally-co', 4],
        ['tally-two', 1],
      ]),
    );
    assert.equal((await admission.usage(p)).events, 0, 'not yet added');
    await waitFor(async () => ((await admission.usage(p)).events === 7 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 100,
      what: 'the tally added once its interval passed',
    });
    assert.equal((await admission.usage(principal('t2', {}, 'tally-two'))).events, 1);
    await tallying.countAccepted(new Map([['tally-co', 5]]));
    await tallying.close();
    assert.equal((await admission.usage(p)).events, 12, 'close adds what the tally holds');
  });

  it('is shared by every process: two clients of one Redis see one budget', async () => {
    const other = new Redis(stackEnv().redisUrl);
    try {
      // Connected before the asks: asks queued behind the connect would meet a refilled bucket.
      await other.ping();
      const second = createAdmission(other, { prefix });
      const p = principal('shared', { eventsPerSecond: 50 });
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? admission : second).admit(p, { events: 10, requests: 1 }),
        ),
      );
      assert.equal(answers.filter((a) => a.allowed).length, 5);
    } finally {
      await other.quit();
    }
  });

  it('leases a busy key its budget: few Redis calls, and the limit still holds across processes', async () => {
    const own = await throwawayRedis([]);
    const other = new Redis(own.url);
    try {
      const calls = async () =>
        Number(/cmdstat_evalsha:calls=(\d+)/.exec(await own.client.info('commandstats'))?.[1] ?? 0);
      const a = createAdmission(own.client, { prefix, leaseMs: 250 });
      const b = createAdmission(other, { prefix, leaseMs: 250 });
      const busy = principal('busy', { requestsPerSecond: 100_000 });
      const before = await calls();
      let admitted = 0;
      for (let i = 0; i < 2_000; i += 1)
        if ((await a.admit(busy, { events: 0, requests: 1 })).allowed) admitted += 1;
      assert.equal(admitted, 2_000);
      // Before the INFO round trip below, which could outlast the 250 ms lease on a slow machine.
      assert.ok(a.admitNow(busy, { events: 0, requests: 1 })?.allowed, 'a lease admits without I/O');
      const used = (await calls()) - before;
      assert.ok(used < 100, `${used} Redis calls for 2,000 requests of one key`);
      assert.equal(
        a.admitNow(principal('cold', { requestsPerSecond: 5 }), { events: 0, requests: 1 }),
        undefined,
      );

      // Two processes with leases against one key of 50 requests/s: never more than the budget
      // (50 of burst, plus what refills while they ask) however the leases fall.
      const tight = principal('tight', { requestsPerSecond: 50 });
      const started = Date.now();
      let total = 0;
      for (let round = 0; round < 20; round += 1) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 === 0 ? a : b).admit(tight, { events: 0, requests: 1 }),
          ),
        );
        total += answers.filter((x) => x.allowed).length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const seconds = (Date.now() - started) / 1000;
      assert.ok(total <= 50 + Math.ceil(50 * seconds) + 1, `${total} admitted in ${seconds} s at 50/s`);
      assert.ok(total >= 40, `${total} admitted: leases must not starve the key`);
    } finally {
      other.disconnect();
      own.stop();
    }
  });
});
