// The hit path with auth on, on the real PostgreSQL and Redis: a key that reads, without limits,
// has its cached hit answered before Hono (no I/O, no route); the same URL of another tenant is
// never answered from the first tenant's entry; no key and a key without windows:read always go to
// Hono, which answers 401 or 403; a key with limits goes to Hono (admitted in Redis) until its
// process holds a lease of its budget, then is answered on the hit path too, with its RateLimit
// headers. Keys are verified by a map here: the key table itself has its own test.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateKey } from '@sluice/shared/auth/api-key';
import type { Principal } from '@sluice/shared/auth/principal';
import { waitFor } from '../../shared/test/harness.ts';
import { bearer } from '../../shared/test/keys.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-06T10:00:00Z');
const WATERMARK = T0 + 100 * 60_000;
const TARGET = `/v1/streams/ecommerce/windows?from=${T0}&to=${T0 + 30 * 60_000}`;
let q: QueryHarness;

const principal = (name: string, p: Omit<Principal, 'keyId' | 'expiresAt'>) => {
  const { id, key } = generateKey();
  return { name, key, principal: { keyId: id, expiresAt: null, ...p } };
};
const reader = principal('reader', { tenant: 'default', scopes: ['windows:read'], limits: {} });
const otherTenant = principal('other', { tenant: 'other', scopes: ['windows:read'], limits: {} });
const writer = principal('writer', { tenant: 'default', scopes: ['events:write'], limits: {} });
const limited = principal('limited', {
  tenant: 'default',
  scopes: ['windows:read'],
  limits: { requestsPerSecond: 1_000 },
});
const known = new Map([reader, otherTenant, writer, limited].map((k) => [k.key, k.principal]));

before(async () => {
  q = await startQuery('hit-path-auth', {
    pushInvalidation: true,
    auth: { mode: 'on', verify: (key) => known.get(key) },
    leaseMs: 250,
  });
  const rows: SeededRow[] = Array.from({ length: 40 }, (_, m) => ({
    start: T0 + m * 60_000,
    category: 'Books',
    sales: [{ category: 'Books', amount: 10, user: 'u', time: T0 + m * 60_000 }],
    status: 'settled',
    version: 1,
  }));
  await q.write(rows, WATERMARK);
  await waitFor(async () => q.watch?.armedEpoch(), {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: 'watch armed',
  });
});

after(() => q.close());

async function ask(headers: Record<string, string>) {
  const lookups = q.routeLookups();
  const response = await q.app.request(TARGET, { headers });
  const body = await response.text();
  return { status: response.status, body, headers: response.headers, routed: q.routeLookups() > lookups };
}

test("a reader's hit is answered before Hono; nothing else is, and no tenant gets another's", async () => {
  const miss = await ask(bearer(reader.key));
  assert.equal(miss.status, 200);
  assert.equal(miss.headers.get('x-cache'), 'miss');
  await ask(bearer(reader.key)); // checks the answer's counters once (the watch armed)
  const fast = await ask(bearer(reader.key));
  assert.equal(fast.routed, false, 'answered on the hit path');
  assert.equal(fast.body, miss.body);
  assert.equal((JSON.parse(fast.body) as { data: unknown[] }).data.length, 30);

  // The same URL, answered in memory for 'default': every other caller goes to Hono.
  const none = await ask({});
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  const unknown = await ask(bearer(generateKey().key));
  assert.equal(unknown.status, 401);
  assert.equal((await ask(bearer(writer.key))).status, 403);
  const other = await ask(bearer(otherTenant.key));
  assert.equal(other.status, 200);
  assert.ok(other.routed, "tenant 'other' is never answered from the default tenant's entry");
  assert.equal(other.headers.get('x-cache'), 'miss');
  assert.deepEqual((JSON.parse(other.body) as { data: unknown[] }).data, [], "'other' has no windows");
  // A key with limits: the route admits its first request in Redis and leases this process a
  // few more units of its budget, which the hit path spends; every answer carries the headers.
  const limitedAnswers = [];
  for (let i = 0; i < 12; i += 1) limitedAnswers.push(await ask(bearer(limited.key)));
  assert.ok(limitedAnswers[0]?.routed, 'the first, without a lease, is judged in Redis by the route');
  assert.ok(
    limitedAnswers.some((a) => !a.routed),
    'later ones are answered from the lease on the hit path',
  );
  for (const admitted of limitedAnswers) {
    assert.equal(admitted.status, 200);
    assert.equal(admitted.body, miss.body);
    assert.match(admitted.headers.get('ratelimit-policy') ?? '', /"requests";q=1000;w=1/);
    assert.match(admitted.headers.get('ratelimit') ?? '', /"requests";r=\d+;t=\d+/);
  }
});
