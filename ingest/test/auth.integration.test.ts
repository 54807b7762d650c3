// Ingest with SLUICE_AUTH=on, a real process on real Kafka, PostgreSQL and Redis (issue 21): 401
// and 403 on every route, ops endpoints behind an admin key unless open, the tenant from the key
// (a spoofed one refused per event, 403 when all), a relay key trusted for each event's tenant,
// revocation within 5 s, a rate-limited key's 429s never half-accepted, and no key in the
// service's output nor in PostgreSQL (only its SHA-256).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { bearer, revokeTestKey, secretOf } from '../../shared/test/keys.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import type { TestKeys } from './auth-fixtures.ts';
import {
  assertForbidden,
  assertUnauthorized,
  burst,
  createKeys,
  events,
  idOf,
  kafkaById,
  OTHER_TENANT,
  post,
  secretsOf,
  TENANT,
  unauthorizedHeaders,
} from './auth-fixtures.ts';

let p: TestPipeline;
let keys: TestKeys;
let ingest: ServiceHandle;
/** Every event id ingest 202'd, with the tenant it must have in Kafka. */
const acked = new Map<string, string>();
const neverProduced: string[] = [];

before(async () => {
  p = await testPipeline('ingest-auth');
  keys = await createKeys(p.iso.databaseUrl);
  ingest = await p.start('ingest', { SLUICE_AUTH: 'on', SLUICE_OPS_OPEN: 'false', SLUICE_LOG_LEVEL: 'info' });
});

after(async () => {
  await p?.close();
});

test('401 for no, malformed, unknown, expired or revoked keys on every route', async () => {
  for (const [what, headers] of unauthorizedHeaders(keys)) {
    assertUnauthorized(await post(ingest.url, events(1, 'unauth'), headers), `/v1/events ${what}`);
    assertUnauthorized(
      await post(ingest.url, { events: 1 }, headers, '/v1/admission'),
      `/v1/admission ${what}`,
    );
    const key = await fetch(`${ingest.url}/v1/auth/key`, { headers });
    assert.equal(key.status, 401, `/v1/auth/key ${what}`);
    for (const path of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await fetch(`${ingest.url}${path}`, { headers })).status, 401, `${path} ${what}`);
  }
});

test('403 for a key without the scope', async () => {
  assertForbidden(await post(ingest.url, events(1, 'read'), bearer(keys.read.key)), 'read key on /v1/events');
  assertForbidden(
    await post(ingest.url, events(1, 'admin'), bearer(keys.admin.key)),
    'admin key on /v1/events',
  );
  for (const key of [keys.read, keys.relay])
    assertForbidden(await post(ingest.url, { events: 1 }, bearer(key.key), '/v1/admission'), '/v1/admission');
  for (const path of ['/healthz', '/readyz', '/metrics'])
    assert.equal(
      (await fetch(`${ingest.url}${path}`, { headers: bearer(keys.write.key) })).status,
      403,
      path,
    );
});

test('ops endpoints: an admin key opens them; SLUICE_OPS_OPEN=true opens them to all', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics'])
    assert.equal(
      (await fetch(`${ingest.url}${path}`, { headers: bearer(keys.admin.key) })).status,
      200,
      path,
    );
  const open = await p.start('ingest', { SLUICE_AUTH: 'on', SLUICE_OPS_OPEN: 'true' });
  for (const path of ['/healthz', '/readyz', '/metrics'])
    assert.equal((await fetch(`${open.url}${path}`)).status, 200, path);
  assertUnauthorized(await post(open.url, events(1, 'open'), {}), 'events stay closed');
  await open.stop();
});

test('GET /v1/auth/key answers the principal of any valid key', async () => {
  const limited = await fetch(`${ingest.url}/v1/auth/key`, { headers: bearer(keys.limited.key) });
  assert.equal(limited.status, 200);
  assert.equal(limited.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await limited.json(), {
    keyId: keys.limited.id,
    tenant: TENANT,
    scopes: ['events:write'],
    expiresAt: null,
    limits: { eventsPerSecond: 50 },
  });
  const read = (await (
    await fetch(`${ingest.url}/v1/auth/key`, { headers: bearer(keys.read.key) })
  ).json()) as {
    scopes: string[];
  };
  assert.deepEqual(read.scopes, ['windows:read']);
});

test('a write key: its tenant on every event, another tenant refused per event, 403 when all', async () => {
  const mine = events(2, 'mine');
  const named = events(1, 'named', { tenant: TENANT });
  const spoofed = events(1, 'spoofed', { tenant: OTHER_TENANT });
  const res = await post(ingest.url, [...mine, ...spoofed, ...named], bearer(keys.write.key));
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.deepEqual(res.json.ids, [...mine, ...named].map(idOf));
  assert.deepEqual(
    res.json.rejected?.map((r) => [r.index, r.errors[0]?.path]),
    [[2, 'tenant']],
  );
  assert.match(res.json.rejected?.[0]?.errors[0]?.message ?? '', /tenant is not the API key's/);
  for (const e of [...mine, ...named]) acked.set(idOf(e), TENANT);
  neverProduced.push(...spoofed.map(idOf));

  const allSpoofed = events(2, 'all-spoofed', { tenant: OTHER_TENANT });
  const refused = await post(ingest.url, allSpoofed, bearer(keys.write.key));
  assertForbidden(refused, 'every event spoofed');
  neverProduced.push(...allSpoofed.map(idOf));
});

test('a relay key (the edge) writes each event for the tenant it names', async () => {
  const relayed = [
    ...events(1, 'relay-other', { tenant: OTHER_TENANT }),
    ...events(1, 'relay-acme', { tenant: TENANT }),
  ];
  const res = await post(ingest.url, relayed, bearer(keys.relay.key));
  assert.equal(res.status, 202, JSON.stringify(res.json));
  acked.set(idOf(relayed[0] as (typeof relayed)[number]), OTHER_TENANT);
  acked.set(idOf(relayed[1] as (typeof relayed)[number]), TENANT);
});

test('a rate-limited key: 429 with Retry-After and RateLimit headers, refused requests produce nothing', async () => {
  const { acked: ok, refused } = await burst(ingest.url, keys.limited.key, 'ingest-burst');
  for (const id of ok) acked.set(id, TENANT);
  neverProduced.push(...refused);
  // Admission is asked at ingest too for an events:write caller.
  const admission = await post(ingest.url, { events: 1_000 }, bearer(keys.limited.key), '/v1/admission');
  assert.equal(admission.status, 429);
  assert.ok(Number(admission.headers.get('retry-after')) >= 1);
  assert.match(admission.headers.get('ratelimit-policy') ?? '', /"events";q=50;w=1/);
  const unlimited = await post(ingest.url, { events: 5 }, bearer(keys.write.key), '/v1/admission');
  assert.equal(unlimited.status, 200);
  assert.deepEqual(unlimited.json, { allowed: true, headers: {} });
  assert.equal((await post(ingest.url, { events: -1 }, bearer(keys.write.key), '/v1/admission')).status, 400);
});

test('Kafka holds every 202-ed event exactly once with its tenant, and nothing refused', async () => {
  const byId = await kafkaById(p.iso.topicPrefix, acked.size);
  for (const [id, tenant] of acked) assert.deepEqual(byId.get(id)?.tenants, [tenant], id);
  for (const id of neverProduced) assert.equal(byId.get(id), undefined, `${id} was refused`);
  assert.equal(byId.size, acked.size);
});

test('a revoked key gets 401 within 5 s', async () => {
  const headers = bearer(keys.doomed.key);
  assert.equal((await post(ingest.url, events(1, 'doomed'), headers)).status, 202);
  const started = Date.now();
  await revokeTestKey(p.iso.databaseUrl, keys.doomed.id);
  let status = 0;
  while (Date.now() - started < 10_000) {
    status = (await fetch(`${ingest.url}/v1/auth/key`, { headers })).status;
    if (status === 401) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const elapsed = Date.now() - started;
  assert.equal(status, 401);
  assert.ok(elapsed < 5_000, `revoked after ${elapsed} ms`);
  assertUnauthorized(await post(ingest.url, events(1, 'doomed'), headers), 'revoked');
});

test('no key in the output, only its SHA-256 in PostgreSQL', async () => {
  const output = ingest.output();
  assert.ok(output.length > 0, 'the service printed something (at info)');
  for (const secret of secretsOf(keys)) assert.ok(!output.includes(secret), 'a key in the output');
  const rows = await p.sql<{ id: string; key_hash: string; row: string }[]>`
    select id, key_hash, row_to_json(k)::text as row from api_keys k`;
  assert.equal(rows.length, Object.keys(keys).length);
  for (const key of Object.values(keys)) {
    const row = rows.find((r) => r.id === key.id);
    assert.equal(row?.key_hash, createHash('sha256').update(key.key).digest('hex'));
    assert.ok(!rows.some((r) => r.row.includes(key.key) || r.row.includes(secretOf(key.key))));
  }
});
