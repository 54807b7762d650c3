// The in-flight bound as a unit (a Hono app, app.request): past the requests or the body bytes
// held at once, a request is a 503 with Retry-After before its body is read; a body of unknown or
// growing size (no Content-Length, gzip) counts as the most it may become.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import type { BaseVariables } from '../src/http/app-defaults.ts';
import { applyAppDefaults } from '../src/http/app-defaults.ts';
import { inflightLimit } from '../src/http/inflight-limit.ts';

function gated(options: { maxRequests: number; maxBytes: number }) {
  const limit = inflightLimit({ ...options, unknownBodyBytes: 1_000 });
  const gates: (() => void)[] = [];
  const app = new Hono<{ Variables: BaseVariables }>();
  applyAppDefaults(app);
  app.post('/in', limit.middleware, async (c) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    return c.text('done');
  });
  const post = (headers: Record<string, string>) =>
    app.request('/in', { method: 'POST', body: 'x'.repeat(Number(headers['content-length'] ?? 1)), headers });
  const releaseAll = () => {
    for (const release of gates.splice(0)) release();
  };
  return { limit, post, releaseAll };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

test('past maxRequests held at once, 503 with Retry-After; freed slots are used again', async () => {
  const { limit, post, releaseAll } = gated({ maxRequests: 2, maxBytes: 1 << 20 });
  const held = [post({ 'content-length': '10' }), post({ 'content-length': '10' })];
  await tick();
  const refused = await post({ 'content-length': '10' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.deepEqual(limit.held(), { requests: 2, bytes: 20 });
  releaseAll();
  for (const answer of await Promise.all(held)) assert.equal(answer.status, 200);
  assert.deepEqual(limit.held(), { requests: 0, bytes: 0 });
  const again = post({ 'content-length': '10' });
  await tick();
  releaseAll();
  assert.equal((await again).status, 200);
});

test('past maxBytes held at once, 503; gzip counts as the most a body may become', async () => {
  const { limit, post, releaseAll } = gated({ maxRequests: 100, maxBytes: 1_500 });
  // A request alone may hold more than the bound (the body limit refuses it, not this).
  const first = post({ 'content-length': '1200' });
  await tick();
  assert.equal((await post({ 'content-length': '400' })).status, 503);
  const small = post({ 'content-length': '300' });
  await tick();
  assert.deepEqual(limit.held(), { requests: 2, bytes: 1_500 });
  releaseAll();
  await Promise.all([first, small]);
  const gzip = post({ 'content-length': '100', 'content-encoding': 'gzip' });
  await tick();
  assert.deepEqual(limit.held(), { requests: 1, bytes: 1_000 });
  assert.equal((await post({ 'content-length': '600' })).status, 503);
  releaseAll();
  assert.equal((await gzip).status, 200);
});
