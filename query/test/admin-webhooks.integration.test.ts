// The admin API of webhook sources on the query service as it runs (SLUICE_AUTH=on, issue 22): an
// admin key declares, lists, rotates, retires and removes its OWN tenant's sources; another
// tenant's source is a 404 as an unknown one; no key is 401, a key without `admin` 403; invalid
// bodies 400 with the envelope; the secret is sealed in PostgreSQL and never in an answer; and
// without SLUICE_SECRETS_KEY a source cannot be added (503 saying so).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import postgres from 'postgres';
import { bearer, createTestKey } from '../../shared/test/keys.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';

const A = 'tenant-a';
const B = 'tenant-b';
const SECRET = 'It is a Secret to Everybody';

let iso: Isolation;
let query: ServiceHandle;
let keyless: ServiceHandle;
let sql: postgres.Sql;
const keys: Record<string, CreatedKey> = {};

before(async () => {
  iso = await isolate('adminwh');
  sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
  keys.adminA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['admin'] });
  keys.adminB = await createTestKey(iso.databaseUrl, { tenant: B, scopes: ['admin'] });
  keys.readA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['windows:read', 'events:write'] });
  const env = { ...iso.env, SLUICE_AUTH: 'on', SLUICE_OPS_OPEN: 'true' };
  query = await startService('query', env);
  keyless = await startService('query', { ...env, SLUICE_SECRETS_KEY: '' });
});

after(async () => {
  await Promise.all([query?.stop(), keyless?.stop()]);
  await sql?.end();
  await iso?.cleanup();
});

async function call(method: string, path: string, key: CreatedKey | undefined, body?: unknown, on = query) {
  const response = await fetch(`${on.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : bearer(key.key)) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

test("an admin key declares, lists, rotates, retires and removes its own tenant's sources", async () => {
  const added = await call('POST', '/v1/admin/webhooks', keys.adminA, {
    provider: 'github',
    secret: SECRET,
    name: 'repo hooks',
    // A body tenant is no field of the API: the source is the key's tenant's.
  });
  assert.equal(added.status, 201, added.text);
  const source = added.json() as { id: string; url: string; tenant: string; stream: string };
  assert.match(source.id, /^wh_[a-z2-7]{26}$/);
  assert.equal(source.url, `/v1/webhooks/${source.id}`);
  assert.equal(source.tenant, A);
  assert.equal(source.stream, 'webhooks');
  assert.ok(!added.text.includes(SECRET), 'the secret is not in the answer');

  // Sealed at rest: the row holds no secret text.
  const [row] = await sql<{ secret: string }[]>`select secret from webhook_sources where id = ${source.id}`;
  assert.ok(row !== undefined && !row.secret.includes(SECRET) && row.secret.startsWith('v1:'), 'sealed');

  const listedA = await call('GET', '/v1/admin/webhooks', keys.adminA);
  assert.equal(listedA.status, 200);
  assert.deepEqual(
    (listedA.json().data as { id: string }[]).map((s) => s.id),
    [source.id],
  );
  assert.ok(!listedA.text.includes(SECRET));
  const listedB = await call('GET', '/v1/admin/webhooks', keys.adminB);
  assert.deepEqual(listedB.json().data, [], "tenant B sees none of A's sources");

  // Another tenant's admin: every write is a 404, as for an unknown id.
  for (const [method, path, body] of [
    ['POST', `/v1/admin/webhooks/${source.id}/rotate`, { secret: 'another secret!' }],
    ['POST', `/v1/admin/webhooks/${source.id}/retire`, undefined],
    ['DELETE', `/v1/admin/webhooks/${source.id}`, undefined],
  ] as const) {
    const refused = await call(method, path, keys.adminB, body);
    assert.equal(refused.status, 404, `${method} ${path} by B: ${refused.text}`);
  }

  const rotated = await call('POST', `/v1/admin/webhooks/${source.id}/rotate`, keys.adminA, {
    secret: 'the next secret',
    overlapSeconds: 3600,
  });
  assert.equal(rotated.status, 200, rotated.text);
  const retiresAt = Date.parse(String(rotated.json().previousSecretRetiresAt));
  assert.ok(
    Math.abs(retiresAt - (Date.now() + 3_600_000)) < 60_000,
    'the old secret verifies for the overlap',
  );
  const retired = await call('POST', `/v1/admin/webhooks/${source.id}/retire`, keys.adminA);
  assert.equal(retired.status, 200);
  assert.equal(retired.json().previousSecretRetiresAt, null);

  assert.equal((await call('DELETE', `/v1/admin/webhooks/${source.id}`, keys.adminA)).status, 204);
  assert.equal((await call('DELETE', `/v1/admin/webhooks/${source.id}`, keys.adminA)).status, 404);
});

test('401 without a key, 403 without admin, 400 for invalid bodies, 404 for ids not ours', async () => {
  assert.equal((await call('GET', '/v1/admin/webhooks', undefined)).status, 401);
  assert.equal(
    (await call('POST', '/v1/admin/webhooks', keys.readA, { provider: 'github', secret: SECRET })).status,
    403,
  );
  for (const body of [
    'not json',
    { provider: 'nope', secret: SECRET },
    { provider: 'github' },
    { provider: 'github', secret: 'short' },
    { provider: 'standard-webhooks', secret: 'whsec_notbase64!' },
    { provider: 'github', secret: SECRET, stream: 'no-such-stream' },
    { provider: 'github', secret: SECRET, stream: 'ecommerce' },
    { provider: 'github', secret: SECRET, tenant: B },
    { provider: 'github', secret: SECRET, options: { toleranceSeconds: -1 } },
    { provider: 'hmac', secret: SECRET, options: { hmac: { header: 'bad header!' } } },
  ]) {
    const refused = await call('POST', '/v1/admin/webhooks', keys.adminA, body);
    assert.ok(refused.status === 400, `${JSON.stringify(body)}: ${refused.status} ${refused.text}`);
    assert.equal(typeof (refused.json().error as { code?: unknown })?.code, 'string');
  }
  // Bodies are bounded before they are parsed: over 4 KB (add or rotate) is a 413.
  const big = { provider: 'github', secret: SECRET, options: { mapping: { x: `/${'a'.repeat(5_000)}` } } };
  assert.equal((await call('POST', '/v1/admin/webhooks', keys.adminA, big)).status, 413);
  assert.equal(
    (
      await call('POST', `/v1/admin/webhooks/wh_${'a'.repeat(26)}/rotate`, keys.adminA, {
        secret: 'x'.repeat(5_000),
      })
    ).status,
    413,
  );
  for (const id of ['wh_', 'x'.repeat(300), "wh_' or 1=1 --"])
    assert.equal(
      (await call('DELETE', `/v1/admin/webhooks/${encodeURIComponent(id)}`, keys.adminA)).status,
      404,
    );
  const [count] = await sql<
    { n: number }[]
  >`select count(*)::int as n from webhook_sources where tenant = ${B}`;
  assert.equal(count?.n, 0, 'nothing was written for another tenant');
});

test('without SLUICE_SECRETS_KEY a source cannot be added: 503 saying so', async () => {
  const refused = await call(
    'POST',
    '/v1/admin/webhooks',
    keys.adminA,
    { provider: 'github', secret: SECRET },
    keyless,
  );
  assert.equal(refused.status, 503, refused.text);
  assert.match(refused.text, /SLUICE_SECRETS_KEY/);
});
