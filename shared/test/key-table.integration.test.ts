// The key table every service verifies keys against: hashed keys from PostgreSQL, revocation seen
// within its bound, expiry on time, quotas per tenant (real PostgreSQL).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { KeyTable } from '../src/auth/key-table.ts';
import { startKeyTable } from '../src/auth/key-table.ts';
import { waitFor } from './harness.ts';
import { createTestKey, revokeTestKey, secretOf, setTestQuota } from './keys.ts';
import type { Isolation } from './services.ts';
import { isolate } from './services.ts';

describe('key table', () => {
  let iso: Isolation;
  let sql: postgres.Sql;
  let table: KeyTable;
  let now = Date.now();

  before(async () => {
    iso = await isolate('keytable');
    // Migrates the new database, so the table below has something to load.
    await setTestQuota(iso.databaseUrl, 'unused', 1);
    sql = postgres(iso.databaseUrl, { max: 3, onnotice: () => {} });
    // A long poll: what is seen within the test's bounds was pushed by NOTIFY.
    table = await startKeyTable({ sql, reloadMs: 60_000, defaultDailyEvents: 500, now: () => now });
  });
  after(async () => {
    await table.close();
    await sql.end();
    await iso.cleanup();
  });

  it('keeps only the hash: the key is nowhere in PostgreSQL', async () => {
    const created = await createTestKey(iso.databaseUrl, { tenant: 'acme', scopes: ['events:write'] });
    const dump = await sql<{ row: string }[]>`select row_to_json(k)::text as row from api_keys k`;
    const text = dump.map((r) => r.row).join('\n');
    assert.ok(!text.includes(created.key), 'the key is stored');
    assert.ok(!text.includes(secretOf(created.key)), 'the secret is stored');
    assert.match(text, /"key_hash":"[0-9a-f]{64}"/);
  });

  it('verifies a new key once PostgreSQL announced it, with its tenant, scopes and limits', async () => {
    const created = await createTestKey(iso.databaseUrl, {
      tenant: 'acme',
      scopes: ['events:write', 'windows:read'],
      eventsPerSecond: 10,
    });
    const principal = await waitFor(async () => table.verify(created.key), {
      timeoutMs: 3_000,
      what: 'the new key',
    });
    assert.deepEqual(principal, {
      keyId: created.id,
      tenant: 'acme',
      scopes: ['events:write', 'windows:read'],
      expiresAt: null,
      limits: { eventsPerSecond: 10, dailyEvents: 500 },
    });
    assert.equal(table.verify(created.key.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))), undefined);
  });

  it('stops verifying a revoked key within a second of the revocation (pushed, not polled)', async () => {
    const created = await createTestKey(iso.databaseUrl, { tenant: 'acme', scopes: ['windows:read'] });
    await waitFor(async () => table.verify(created.key), { timeoutMs: 3_000 });
    const revokedAt = Date.now();
    assert.equal(await revokeTestKey(iso.databaseUrl, created.id), 'revoked');
    await waitFor(async () => (table.verify(created.key) === undefined ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 20,
      what: 'the revocation',
    });
    assert.ok(Date.now() - revokedAt < 1_000, `seen after ${Date.now() - revokedAt} ms`);
    assert.equal(await revokeTestKey(iso.databaseUrl, created.id), 'already');
  });

  it('refuses an expired key at once, without a reload', async () => {
    const created = await createTestKey(iso.databaseUrl, {
      tenant: 'acme',
      scopes: ['windows:read'],
      expiresAt: new Date(Date.now() + 60_000),
    });
    await waitFor(async () => table.verify(created.key), { timeoutMs: 3_000 });
    now = Date.now() + 61_000;
    try {
      assert.equal(table.verify(created.key), undefined);
    } finally {
      now = Date.now();
    }
  });

  it("takes a tenant's own quota over the default", async () => {
    const created = await createTestKey(iso.databaseUrl, { tenant: 'bigco', scopes: ['events:write'] });
    await setTestQuota(iso.databaseUrl, 'bigco', 1_000_000);
    const principal = await waitFor(
      async () => {
        const p = table.verify(created.key);
        return p?.limits.dailyEvents === 1_000_000 ? p : undefined;
      },
      { timeoutMs: 3_000, what: "bigco's quota" },
    );
    assert.equal(principal.tenant, 'bigco');
  });
});
