// A full Redis (issue 20 item 7, the `full Redis` finding): with Redis refusing writes (OOM), the
// processor says so (/readyz 503 naming the cause, a refusal counter and a stall gauge, one log
// line rather than one per retried batch) while /healthz stays live; once space returns it resumes
// by itself, with nothing lost or counted twice. The processor gets a Redis of its own (a private
// redis-server on a free port) so that filling it disturbs no one else.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { topicNames } from '@sluice/shared/streams/registry';
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import type { ThrowawayRedis } from '../../shared/test/throwaway-redis.ts';
import { throwawayRedis } from '../../shared/test/throwaway-redis.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { directProducer } from './direct-produce.ts';
import { assertExact } from './exact.ts';

const stack = stackEnv();
let iso: Isolation;
let server: ThrowawayRedis;
let redis: Redis;
let processor: ServiceHandle | undefined;
let sql: postgres.Sql;
let env: Record<string, string>;

beforeEach(async () => {
  iso = await isolate('fullredis');
  // As the stack's Redis refuses writes when full (noeviction), without persistence: a throw-away.
  server = await throwawayRedis(['--maxmemory-policy', 'noeviction']);
  redis = server.client;
  env = {
    ...iso.env,
    SLUICE_REDIS_URL: server.url,
    SLUICE_IDLE_TIMEOUT_MS: '6000',
    SLUICE_TICK_MS: '250',
    SLUICE_MAX_BATCH: '100',
    SLUICE_STREAMS: 'ecommerce',
  };
  sql = postgres(iso.databaseUrl, { max: 2, onnotice: () => {} });
});

afterEach(async () => {
  await processor?.stop('SIGKILL');
  server.stop();
  await sql.end();
  await iso.cleanup();
});

const ready = async (worker: ServiceHandle) => {
  const response = await fetch(`${worker.url}/readyz`);
  return { status: response.status, body: await response.text() };
};

test('full Redis', { timeout: 180_000 }, async () => {
  const worker = await startService('processor', env);
  processor = worker;
  const topics = topicNames('ecommerce', iso.topicPrefix);
  const base = Date.parse('2026-05-03T09:00:00Z');
  const random = seededRandom(21);
  const sent = Array.from({ length: 600 }, (_, i) =>
    makeTransaction(random, `full-${i}`, base + Math.floor((i / 600) * 4 * 60_000)),
  );
  const { produce, close } = await directProducer(stack.kafkaBrokers, topics.events);
  try {
    await produce(sent.slice(0, 200));
    await waitFor(
      async () =>
        (await scrape(worker.url)).sum('sluice_processor_events_total', { outcome: 'processed' }) > 0
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'some events processed' },
    );
    assert.equal((await ready(worker)).status, 200);

    // Full: every write refused (noeviction), as the stack's Redis at its 2 GB cap.
    await redis.config('SET', 'maxmemory', '1');
    try {
      await produce(sent.slice(200, 400));
      const stalled = await waitFor(
        async () => {
          const answer = await ready(worker);
          return answer.status === 503 ? answer : undefined;
        },
        { timeoutMs: 30_000, what: '/readyz answering 503 while Redis is full' },
      );
      assert.match(stalled.body, /redis oom/, 'the cause is named');
      assert.equal((await fetch(`${worker.url}/healthz`)).status, 200, 'liveness unchanged');
      // Retried for a while: still one log line naming the cause, not one per batch. A retry comes
      // a second after a refusal at the soonest, later on a loaded machine: wait for three of
      // them rather than for a fixed time.
      const metrics = await waitFor(
        async () => {
          const now = await scrape(worker.url);
          const refusals = now.sum('sluice_processor_store_refusals_total', { store: 'redis', cause: 'oom' });
          return refusals >= 3 ? now : undefined;
        },
        { timeoutMs: 60_000, what: 'three refusals (oom)' },
      );
      assert.equal(metrics.sum('sluice_processor_stalled', { store: 'redis', cause: 'oom' }), 1);
      const said = worker
        .output()
        .split('\n')
        .filter((line) => /refuses the processor's writes \(oom\)/.test(line));
      assert.equal(said.length, 1, worker.output().slice(-3_000));
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }

    // Space is back: ready again by itself, and every event counts exactly once.
    await produce(sent.slice(400));
    await waitFor(async () => ((await ready(worker)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      what: '/readyz back to 200 once Redis takes writes',
    });
    await assertExact(sql, sent, base, base + 5 * 60_000, [worker]);
    assert.equal((await scrape(worker.url)).sum('sluice_processor_stalled', { store: 'redis' }), 0);
    await waitFor(
      async () => (/redis takes the processor's writes again/.test(worker.output()) ? true : undefined),
      {
        timeoutMs: 5_000,
        what: `a log line saying Redis takes writes again: ${worker.output().slice(-3_000)}`,
      },
    );
  } catch (error) {
    // Whatever step failed, the processor's own account of it goes with the failure.
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n--- the processor's output, last 4 KB ---\n${worker.output().slice(-4_000)}`,
      {
        cause: error,
      },
    );
  } finally {
    await close();
  }
});
