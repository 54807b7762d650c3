// The query service with auth on (issue 21), as it runs: sluice-query started with SLUICE_AUTH=on
// on an isolated database and the real Redis, keys made in PostgreSQL as `./sluice keys` makes them.
// Two tenants hold the same stream with the same categories and different values: each key reads
// exactly its own windows, top-N, stream detail and live updates, and an answer cached for one
// tenant (the hit path's included) is never served to the other; the stream detail's per-partition
// offsets (every tenant's volume) go only to a key that also holds admin. Every route answers 401 for no,
// malformed, unknown, expired or revoked keys and 403 for a key without the scope; the admin API
// manages the admin's own tenant only; a key with requestsPerSecond is refused 429 with the
// rate-limit headers; usage counts what ingest counted; ops endpoints need an admin key unless
// SLUICE_OPS_OPEN; the dashboard's page is open and its data is not.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAdmission } from '@sluice/shared/auth/admission';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { feedKey } from '@sluice/shared/live/window-updates';
import { topicNames } from '@sluice/shared/streams/registry';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Redis } from 'ioredis';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { bearer, createTestKey, revokeTestKey, withKeyDb } from '../../shared/test/keys.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { openSse } from '../../shared/test/sse-client.ts';
import type { SeededRow } from './seed-windows.ts';
import { writeWindows } from './seed-windows.ts';

const T0 = Date.parse('2026-05-05T10:00:00Z');
const RANGE = `from=${T0}&to=${T0 + 10 * 60_000}`;
const WINDOWS = `/v1/streams/ecommerce/windows?window=1m&${RANGE}`;
const TOP = `/v1/streams/ecommerce/top?agg=sum_amount&${RANGE}`;
const A = 'tenant-a';
const B = 'tenant-b';

let iso: Isolation;
let query: ServiceHandle;
let redis: Redis;
const keys: Record<string, CreatedKey> = {};

/** Ten settled minutes of two categories; every amount is `scale` times the minute's. */
const rowsOf = (scale: number): SeededRow[] =>
  Array.from({ length: 10 }, (_, m) =>
    ['Books', 'Sports'].map((category, ci) => ({
      start: T0 + m * 60_000,
      category,
      sales: [{ category, amount: scale * (m + 1 + ci), user: `u${m}`, time: T0 + m * 60_000 + 1_000 }],
      status: 'settled' as const,
      version: 1,
    })),
  ).flat();

const sumOf = (scale: number, ci: number) =>
  Array.from({ length: 10 }, (_, m) => scale * (m + 1 + ci)).reduce((a, b) => a + b, 0);

async function get(path: string, headers: Record<string, string> = {}, init: RequestInit = {}) {
  const response = await fetch(`${query.url}${path}`, { ...init, headers: { ...headers } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

before(async () => {
  iso = await isolate('query-auth');
  const group = iso.env.SLUICE_CONSUMER_GROUP ?? 'sluice-processor';
  const topic = topicNames('ecommerce', iso.topicPrefix).events;
  const past = new Date(Date.now() - 60_000);
  const specs = {
    readA: { tenant: A, scopes: ['windows:read'] },
    readB: { tenant: B, scopes: ['windows:read'] },
    writeA: { tenant: A, scopes: ['events:write'] },
    adminA: { tenant: A, scopes: ['admin'] },
    adminB: { tenant: B, scopes: ['admin'] },
    opsA: { tenant: A, scopes: ['windows:read', 'admin'] },
    expired: { tenant: A, scopes: ['windows:read'], expiresAt: past },
    revoked: { tenant: A, scopes: ['windows:read', 'admin'] },
    limited: { tenant: A, scopes: ['windows:read'], requestsPerSecond: 1 },
  } as const;
  for (const [name, spec] of Object.entries(specs))
    keys[name] = await createTestKey(iso.databaseUrl, { ...spec, scopes: [...spec.scopes] });
  await revokeTestKey(iso.databaseUrl, keys.revoked?.id ?? '');
  await withKeyDb(iso.databaseUrl, async (db) => {
    await writeWindows(db, rowsOf(1), { group, topic, watermark: T0 + 20 * 60_000 }, A);
    await writeWindows(db, rowsOf(100), { group, topic, watermark: T0 + 20 * 60_000 }, B);
  });
  redis = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
  query = await startService('query', {
    ...iso.env,
    SLUICE_AUTH: 'on',
    SLUICE_OPS_OPEN: 'false',
    SLUICE_QUERY_LIVE_BLOCK_MS: '500',
    // Per client: with auth on, a client is its key (every test here comes from one address).
    SLUICE_QUERY_MAX_LIVE_CLIENTS_PER_ADDRESS: '2',
  });
});

after(async () => {
  await query?.stop();
  await redis?.quit();
  await iso?.cleanup();
});

const key = (name: string) => {
  const k = keys[name];
  if (k === undefined) throw new Error(`no key ${name}`);
  return k;
};

test('each tenant reads exactly its own windows, top-N and stream detail; a cached answer is never shared', async () => {
  // A first, twice: the second is a cached hit (answered before Hono, by the hit path).
  const a1 = await get(WINDOWS, bearer(key('readA').key));
  assert.equal(a1.status, 200, a1.text);
  const a2 = await get(WINDOWS, bearer(key('readA').key));
  assert.equal(a2.headers.get('x-cache'), 'hit');
  assert.equal(a2.text, a1.text);
  // Then B, the same URL: its own rows, never A's cached answer.
  const b1 = await get(WINDOWS, bearer(key('readB').key));
  assert.equal(b1.status, 200);
  assert.equal(b1.headers.get('x-cache'), 'miss', "tenant-b's first ask is a miss: nothing of A's is its");
  const sums = (text: string) => {
    const rows = (JSON.parse(text) as { data: { key: string; values: { sum_amount: number } }[] }).data;
    const by = new Map<string, number>();
    for (const r of rows) by.set(r.key, (by.get(r.key) ?? 0) + r.values.sum_amount);
    return Object.fromEntries(by);
  };
  assert.deepEqual(sums(a1.text), { Books: sumOf(1, 0), Sports: sumOf(1, 1) });
  assert.deepEqual(sums(b1.text), { Books: sumOf(100, 0), Sports: sumOf(100, 1) });
  const b2 = await get(WINDOWS, bearer(key('readB').key));
  assert.equal(b2.headers.get('x-cache'), 'hit');
  assert.deepEqual(sums(b2.text), sums(b1.text));

  for (const [name, scale] of [
    ['readA', 1],
    ['readB', 100],
    ['readA', 1],
  ] as const) {
    const top = await get(TOP, bearer(key(name).key));
    assert.equal(top.status, 200);
    assert.deepEqual(
      (top.json() as { data: { key: string; value: number }[] }).data.map((r) => [r.key, r.value]),
      [
        ['Sports', sumOf(scale, 1)],
        ['Books', sumOf(scale, 0)],
      ],
      `${name}'s top-N`,
    );
  }
  const detailA = await get('/v1/streams/ecommerce', bearer(key('readA').key));
  const detailB = await get('/v1/streams/ecommerce', bearer(key('readB').key));
  assert.equal(detailA.json().tenant, A);
  assert.equal(detailB.json().tenant, B);
  const list = await get('/v1/streams', bearer(key('readB').key));
  assert.equal(list.status, 200);
});

test("each tenant's live updates reach its own keys only", async () => {
  const prefix = iso.env.SLUICE_CACHE_PREFIX ?? '';
  const live = '/v1/streams/ecommerce/live';
  const sseA = await openSse(`${query.url}${live}`, bearer(key('readA').key));
  const sseB = await openSse(`${query.url}${live}`, bearer(key('readB').key));
  try {
    await sseA.next((e) => e.event === 'ready', 5_000);
    await sseB.next((e) => e.event === 'ready', 5_000);
    const update = (tenantValue: number): WindowUpdate => ({
      stream: 'ecommerce',
      window: '1m',
      window_start: new Date(T0).toISOString(),
      window_end: new Date(T0 + 60_000).toISOString(),
      key: 'Books',
      values: { count: tenantValue },
      status: 'provisional',
      version: 1,
      trace_id: null,
      removed: false,
    });
    await redis.xadd(feedKey(prefix, A, 'ecommerce'), '*', 'u', JSON.stringify([update(1)]));
    await redis.xadd(feedKey(prefix, B, 'ecommerce'), '*', 'u', JSON.stringify([update(100)]));
    const gotA = await sseA.next((e) => e.event === 'windows', 5_000);
    const gotB = await sseB.next((e) => e.event === 'windows', 5_000);
    assert.equal((JSON.parse(gotA.data) as WindowUpdate[])[0]?.values.count, 1);
    assert.equal((JSON.parse(gotB.data) as WindowUpdate[])[0]?.values.count, 100);
    // A moment for anything stray to arrive: each saw one commit, its own.
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(sseA.events.filter((e) => e.event === 'windows').length, 1);
    assert.equal(sseB.events.filter((e) => e.event === 'windows').length, 1);
  } finally {
    sseA.close();
    sseB.close();
  }
});

test('the live cap per client counts keys, not addresses, with auth on', async () => {
  const live = `${query.url}/v1/streams/ecommerce/live`;
  const open = [await openSse(live, bearer(key('readA').key)), await openSse(live, bearer(key('readA').key))];
  try {
    const third = await fetch(live, { headers: bearer(key('readA').key) });
    assert.equal(third.status, 429, "readA's third live client is over its cap");
    await third.body?.cancel();
    // Tenant B's key, from the same address: a client of its own.
    const other = await openSse(live, bearer(key('readB').key));
    open.push(other);
    await other.next((e) => e.event === 'ready', 5_000);
  } finally {
    for (const sse of open) sse.close();
  }
});

const READ_ROUTES = [
  '/v1/streams',
  '/v1/streams/ecommerce',
  WINDOWS,
  TOP,
  '/v1/streams/ecommerce/live',
] as const;
const ADMIN_ROUTES = [
  ['GET', '/v1/admin/keys'],
  ['POST', '/v1/admin/keys'],
  ['DELETE', '/v1/admin/keys/aaaaaaaaaaaaaaaa'],
] as const;

test('401 without a valid key and 403 without the scope, on every route, in the envelope', async () => {
  const unknown = `slk_${'a'.repeat(16)}_${'b'.repeat(43)}`;
  const bad: [string, Record<string, string>][] = [
    ['none', {}],
    ['malformed', { authorization: 'Bearer not-a-key' }],
    ['basic', { authorization: `Basic ${btoa('x:y')}` }],
    ['unknown', bearer(unknown)],
    ['expired', bearer(key('expired').key)],
    ['revoked', bearer(key('revoked').key)],
  ];
  const routes: [string, string][] = [
    ...READ_ROUTES.map((path): [string, string] => ['GET', path]),
    ...ADMIN_ROUTES.map(([m, p]): [string, string] => [m, p]),
    ['GET', '/v1/usage'],
  ];
  for (const [method, path] of routes)
    for (const [what, headers] of bad) {
      const r = await get(path, headers, { method, body: method === 'POST' ? '{}' : null });
      assert.equal(r.status, 401, `${what} key: ${method} ${path}`);
      assert.equal(r.json().error.code, 'unauthorized');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  for (const path of READ_ROUTES) {
    const r = await get(path, bearer(key('writeA').key));
    assert.equal(r.status, 403, `write key: ${path}`);
    assert.equal(r.json().error.code, 'forbidden');
  }
  for (const [method, path] of ADMIN_ROUTES) {
    const r = await get(path, bearer(key('readA').key), { method, body: method === 'POST' ? '{}' : null });
    assert.equal(r.status, 403, `read key: ${method} ${path}`);
  }
  // Usage: any valid key of the tenant.
  for (const name of ['writeA', 'readA', 'adminA']) {
    const r = await get('/v1/usage', bearer(key(name).key));
    assert.equal(r.status, 200, `${name}: usage`);
  }
});

test('ops endpoints need an admin key without SLUICE_OPS_OPEN, and are open with it', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    assert.equal((await get(path)).status, 401, path);
    assert.equal((await get(path, bearer(key('readA').key))).status, 403, path);
    assert.equal((await get(path, bearer(key('adminA').key))).status, 200, path);
  }
  const open = await startService('query', { ...iso.env, SLUICE_AUTH: 'on', SLUICE_OPS_OPEN: 'true' });
  try {
    for (const path of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await fetch(`${open.url}${path}`)).status, 200, path);
    // The data stays closed.
    assert.equal((await fetch(`${open.url}${WINDOWS}`)).status, 401);
  } finally {
    await open.stop();
  }
});

test("the admin API makes, lists and revokes its own tenant's keys only", async () => {
  const adminA = bearer(key('adminA').key);
  const made = await get(
    '/v1/admin/keys',
    { ...adminA, 'content-type': 'application/json' },
    {
      method: 'POST',
      body: JSON.stringify({ scopes: ['windows:read'], name: 'dash', tenant: B }),
    },
  );
  assert.equal(made.status, 400, 'a tenant in the body is refused (strict): the tenant is the key’s');
  const created = await get(
    '/v1/admin/keys',
    { ...adminA, 'content-type': 'application/json' },
    {
      method: 'POST',
      body: JSON.stringify({ scopes: ['windows:read'], name: 'dash' }),
    },
  );
  assert.equal(created.status, 201, created.text);
  const fresh = created.json() as CreatedKey;
  assert.equal(fresh.tenant, A);
  assert.deepEqual(fresh.scopes, ['windows:read']);
  assert.match(fresh.key, /^slk_/);
  // Works at once (the key table hears the NOTIFY within a second).
  await waitFor(async () => ((await get(WINDOWS, bearer(fresh.key))).status === 200 ? true : undefined), {
    timeoutMs: 3_000,
    intervalMs: 100,
    what: 'the new key reads',
  });
  const relay = await get(
    '/v1/admin/keys',
    { ...adminA, 'content-type': 'application/json' },
    {
      method: 'POST',
      body: JSON.stringify({ scopes: ['events:relay'] }),
    },
  );
  assert.equal(relay.status, 400, 'events:relay is not for an admin key to grant');
  const big = await get(
    '/v1/admin/keys',
    { ...adminA, 'content-type': 'application/json' },
    {
      method: 'POST',
      body: JSON.stringify({ scopes: ['windows:read'], name: 'x'.repeat(5_000) }),
    },
  );
  assert.equal(big.status, 413, 'a body over 4 KB');
  const notJson = await get(
    '/v1/admin/keys',
    { ...adminA, 'content-type': 'application/json' },
    {
      method: 'POST',
      body: '{scopes',
    },
  );
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json().error.code, 'bad_request');

  const listed = await get('/v1/admin/keys', adminA);
  assert.equal(listed.status, 200);
  const rows = (listed.json() as { data: Record<string, unknown>[] }).data;
  assert.ok(rows.some((r) => r.id === fresh.id));
  assert.ok(
    rows.every((r) => r.tenant === A),
    "only tenant-a's keys",
  );
  assert.doesNotMatch(listed.text, /slk_|key_?hash|[0-9a-f]{64}/i, 'no key and no hash in the list');

  // Tenant-b's admin cannot revoke tenant-a's key: 404, as an unknown id.
  const cross = await get(`/v1/admin/keys/${fresh.id}`, bearer(key('adminB').key), { method: 'DELETE' });
  assert.equal(cross.status, 404);
  assert.equal((await get(WINDOWS, bearer(fresh.key))).status, 200, 'still works');

  const revoked = await get(`/v1/admin/keys/${fresh.id}`, adminA, { method: 'DELETE' });
  assert.equal(revoked.status, 204);
  const started = Date.now();
  await waitFor(async () => ((await get(WINDOWS, bearer(fresh.key))).status === 401 ? true : undefined), {
    timeoutMs: 5_000,
    intervalMs: 100,
    what: 'the revoked key refused',
  });
  assert.ok(Date.now() - started < 5_000);
  assert.equal((await get(`/v1/admin/keys/${fresh.id}`, adminA, { method: 'DELETE' })).status, 204);
});

test('a key with requestsPerSecond gets 429 with Retry-After and the RateLimit headers', async () => {
  const limited = bearer(key('limited').key);
  const answers = await Promise.all(Array.from({ length: 6 }, () => get(WINDOWS, limited)));
  const ok = answers.filter((r) => r.status === 200);
  const refused = answers.filter((r) => r.status === 429);
  assert.ok(ok.length >= 1 && refused.length >= 1, answers.map((r) => r.status).join(','));
  for (const r of refused) {
    assert.equal(r.json().error.code, 'rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.match(r.headers.get('ratelimit-policy') ?? '', /"requests";q=1;w=1/);
    assert.match(r.headers.get('ratelimit') ?? '', /"requests";r=\d+;t=\d+/);
  }
  for (const r of ok) assert.match(r.headers.get('ratelimit-policy') ?? '', /"requests";q=1;w=1/);
});

test("usage shows the tenant's events counted today against its quota", async () => {
  const admission = createAdmission(redis, { prefix: iso.env.SLUICE_CACHE_PREFIX ?? '' });
  await admission.countAccepted(new Map([[A, 42]]));
  const a = await get('/v1/usage', bearer(key('readA').key));
  assert.equal(a.status, 200);
  const usage = a.json();
  assert.equal(usage.tenant, A);
  assert.equal(usage.events, 42);
  assert.equal(usage.quota, null);
  assert.equal(usage.remaining, null);
  assert.match(usage.day, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(Date.parse(usage.resetsAt) > Date.now());
  const b = await get('/v1/usage', bearer(key('readB').key));
  assert.equal(b.json().tenant, B);
  assert.equal(b.json().events, 0);
});

test("the dashboard's page and assets load without a key; its data calls need one", async () => {
  for (const path of ['/', '/assets/dashboard.js', '/assets/dashboard.css', '/openapi.json', '/docs'])
    assert.equal((await get(path)).status, 200, path);
  assert.equal((await get('/v1/streams')).status, 401);
  const page = (await get('/')).text;
  assert.match(page, /id="key-form"/, 'the page asks for a read key');
});

test("the stream detail's partition offsets are an operator's: null for a read key, given with admin too", async () => {
  const plain = await get('/v1/streams/ecommerce', bearer(key('readA').key));
  const ops = await get('/v1/streams/ecommerce', bearer(key('opsA').key));
  assert.equal(plain.status, 200);
  assert.equal(ops.status, 200);
  const p = plain.json() as {
    watermark: string | null;
    lag: { watermark_lag_ms: number | null; partitions: unknown };
  };
  const o = ops.json() as typeof p & {
    lag: { partitions: { partition: number; next_offset: number | null }[] };
  };
  // The watermark and its lag are the stream's progress, everyone's; next offsets are volume.
  assert.equal(p.watermark, new Date(T0 + 20 * 60_000).toISOString());
  assert.equal(p.watermark, o.watermark);
  assert.equal(typeof p.lag.watermark_lag_ms, 'number');
  assert.equal(p.lag.partitions, null);
  assert.ok(!plain.text.includes('next_offset'), 'no offset anywhere in the answer');
  assert.ok(Array.isArray(o.lag.partitions) && o.lag.partitions.length > 0);
  assert.ok(o.lag.partitions.every((x) => 'next_offset' in x));
});

test('answers of the admin API, usage, stream detail and the auth errors match the OpenAPI document', async () => {
  const doc = (await get('/openapi.json')).json() as Record<string, unknown>;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'api');
  const conforms = (route: string, method: string, status: number, body: unknown) => {
    const pointer = `/paths/${route.replaceAll('/', '~1')}/${method}/responses/${status}/content/application~1json/schema`;
    const validate = ajv.getSchema(`api#${encodeURI(pointer)}`);
    assert.ok(validate, `the document declares ${status} for ${method} ${route}`);
    assert.ok(validate(body), `${method} ${route} ${status}: ${ajv.errorsText(validate.errors)}`);
  };
  const adminA = { ...bearer(key('adminA').key), 'content-type': 'application/json' };
  const made = await get('/v1/admin/keys', adminA, {
    method: 'POST',
    body: JSON.stringify({ scopes: ['admin'] }),
  });
  conforms('/v1/admin/keys', 'post', made.status, made.json());
  const listed = await get('/v1/admin/keys', adminA);
  conforms('/v1/admin/keys', 'get', listed.status, listed.json());
  const usage = await get('/v1/usage', bearer(key('readA').key));
  conforms('/v1/usage', 'get', usage.status, usage.json());
  for (const name of ['readA', 'opsA']) {
    const detail = await get('/v1/streams/ecommerce', bearer(key(name).key));
    conforms('/v1/streams/{stream}', 'get', detail.status, detail.json());
  }
  const none = await get(WINDOWS);
  conforms('/v1/streams/{stream}/windows', 'get', 401, none.json());
  const forbidden = await get('/v1/admin/keys', bearer(key('readA').key));
  conforms('/v1/admin/keys', 'get', 403, forbidden.json());
  const missing = await get('/v1/admin/keys/abcdefgh234567ab', adminA, { method: 'DELETE' });
  conforms('/v1/admin/keys/{id}', 'delete', 404, missing.json());
  let limited = await get(TOP, bearer(key('limited').key));
  while (limited.status !== 429) limited = await get(TOP, bearer(key('limited').key));
  conforms('/v1/streams/{stream}/top', 'get', 429, limited.json());
});
