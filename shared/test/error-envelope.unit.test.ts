// Unit tests of the one HTTP error envelope: shape, status per code, Retry-After, request id,
// and that unknown routes and thrown errors never leak details.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { z } from 'zod';
import type { BaseVariables } from '../src/http/app-defaults.ts';
import { applyAppDefaults } from '../src/http/app-defaults.ts';
import type { ErrorEnvelope } from '../src/http/error-envelope.ts';
import { errorResponse, validationError } from '../src/http/error-envelope.ts';
import { appError } from '../src/result.ts';

function app() {
  const thrown: unknown[] = [];
  const hono = new Hono<{ Variables: BaseVariables }>();
  applyAppDefaults(hono, { onUnexpected: (e) => thrown.push(e) });
  hono.get('/busy', (c) =>
    errorResponse(c, appError('unavailable', 'Kafka is slow', { retryAfterSeconds: 2.2 })),
  );
  hono.get('/invalid', (c) => {
    const parsed = z.object({ amount: z.number().nonnegative() }).safeParse({ amount: -1 });
    assert.equal(parsed.success, false);
    return parsed.success ? c.text('unreachable') : errorResponse(c, validationError(parsed.error));
  });
  hono.get('/boom', () => {
    throw new Error('secret connection string postgres://user:pw@db');
  });
  return { hono, thrown };
}

test('503 carries Retry-After (rounded up), the code and the request id', async () => {
  const { hono } = app();
  const res = await hono.request('/busy', { headers: { 'X-Request-Id': 'req-123' } });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '3');
  assert.equal(res.headers.get('x-request-id'), 'req-123');
  const body = (await res.json()) as ErrorEnvelope;
  assert.deepEqual(body, { error: { code: 'unavailable', message: 'Kafka is slow', requestId: 'req-123' } });
});

test('zod errors become 400 validation_failed with per-field details', async () => {
  const { hono } = app();
  const res = await hono.request('/invalid');
  assert.equal(res.status, 400);
  const body = (await res.json()) as ErrorEnvelope;
  assert.equal(body.error.code, 'validation_failed');
  assert.deepEqual(
    (body.error.details as { path: string }[]).map((d) => d.path),
    ['amount'],
  );
  assert.ok(body.error.requestId.length > 0, 'a request id is generated when the client sends none');
});

test('unknown routes are 404 in the envelope; thrown errors are 500 without their message', async () => {
  const { hono, thrown } = app();
  const missing = await hono.request('/nope');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as ErrorEnvelope).error.code, 'not_found');

  const boom = await hono.request('/boom');
  assert.equal(boom.status, 500);
  const text = await boom.text();
  assert.doesNotMatch(text, /postgres:\/\//);
  assert.equal((JSON.parse(text) as ErrorEnvelope).error.code, 'internal');
  assert.equal(thrown.length, 1);
});
