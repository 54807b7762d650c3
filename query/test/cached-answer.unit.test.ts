// A miss's answer is encoded in a later turn of the event loop than the one that computed it
// (cached-answer.ts; issue 27): the hits that came in meanwhile are answered between the two, so a
// miss does not hold every hit behind it for its whole computing and encoding. Over a stand-in
// for the cache tiers: this is about the order of work in one process, not about Redis.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok } from '@sluice/shared/result';
import { Hono } from 'hono';
import { Counter, Registry } from 'prom-client';
import { cachedAnswer } from '../src/cached-answer.ts';
import type { CachedResponse, ResponseCache } from '../src/response-cache.ts';

test("a miss's answer is encoded after the I/O that was ready when it was computed", async () => {
  const order: string[] = [];
  const stored: CachedResponse[] = [];
  const cache: ResponseCache = {
    get: async () => ({ hit: undefined, generations: '1' }),
    set: async (_key, value) => {
      stored.push(value);
    },
  };
  const cacheRequests = new Counter({
    name: 'test_cache_requests_total',
    help: 'test',
    labelNames: ['result'],
    registers: [new Registry()],
  });
  const app = new Hono();
  app.get('/', (c) =>
    cachedAnswer(
      c,
      { cache, cachePrefix: 'test', cacheRequests },
      {
        key: 'k',
        scope: { tenant: 'default', stream: 's', window: '1m' },
        from: 0,
        to: 60_000,
        generationKeys: ['g'],
      },
      async () => {
        // What arrives while the answer is computed: a request, a reply, handled in the next turn.
        setImmediate(() => order.push('waiting I/O handled'));
        const body = {
          toJSON: () => {
            order.push('answer encoded');
            return { data: [1, 2, 3] };
          },
        };
        return ok({ body, watermark: null, complete: true });
      },
    ),
  );
  const response = await app.request('/');
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-cache'), 'miss');
  assert.deepEqual(await response.json(), { data: [1, 2, 3] });
  assert.deepEqual(order, ['waiting I/O handled', 'answer encoded']);
  assert.equal(stored.length, 1);
});
