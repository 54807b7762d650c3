// ./sluice keys: create shows the key once (with --json as the last line), only its hash is kept,
// list and revoke work by id, quota sets a tenant's daily quota, and ensure keeps a live key.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import type { Isolation } from '../../../shared/test/services.ts';
import { isolate } from '../../../shared/test/services.ts';

const run = promisify(execFile);
const sluice = fileURLToPath(new URL('../../../sluice', import.meta.url));

describe('./sluice keys', () => {
  let iso: Isolation;
  let sql: postgres.Sql;
  let dir: string;
  const keys = async (...args: string[]) =>
    (await run(sluice, ['keys', ...args], { env: { ...process.env, SLUICE_DATABASE_URL: iso.databaseUrl } }))
      .stdout;

  before(async () => {
    iso = await isolate('keyscli');
    sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
    dir = await mkdtemp(join(tmpdir(), 'sluice-keys-'));
  });
  after(async () => {
    await sql.end();
    await iso.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a key, shows it once, keeps only its hash; lists and revokes it by id', async () => {
    const out = await keys(
      'create',
      '--tenant',
      'acme',
      '--scopes',
      'events:write,windows:read',
      '--events-per-second',
      '100',
      '--expires',
      '30d',
      '--json',
    );
    const created = JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
      id: string;
      key: string;
      tenant: string;
      scopes: string[];
    };
    assert.equal(created.tenant, 'acme');
    assert.deepEqual(created.scopes, ['events:write', 'windows:read']);
    assert.match(created.key, new RegExp(`^slk_${created.id}_[A-Za-z0-9_-]{43}$`));
    const [row] = await sql<{ key_hash: string; events_per_second: number; expires_at: Date }[]>`
      select key_hash, events_per_second, expires_at from api_keys where id = ${created.id}`;
    assert.match(row?.key_hash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(row?.events_per_second, 100);
    assert.ok((row?.expires_at.getTime() ?? 0) > Date.now() + 29 * 86_400_000);

    const listed = await keys('list', '--tenant', 'acme');
    assert.match(listed, new RegExp(`^${created.id}\\tacme\\tevents:write,windows:read\\texpires `, 'm'));
    assert.ok(
      !listed.includes(created.key) && !listed.includes(row?.key_hash ?? '-'),
      'list shows no secret',
    );

    assert.match(await keys('revoke', created.id), /^revoked /);
    assert.match(await keys('revoke', created.id), /already revoked/);
    assert.match(await keys('list'), new RegExp(`^${created.id}\\t.*\\trevoked `, 'm'));
  });

  it('refuses unknown scopes and bad tenants with usage, exit 2', async () => {
    for (const args of [
      ['create', '--tenant', 'acme', '--scopes', 'root'],
      ['create', '--tenant', 'a b', '--scopes', 'admin'],
      ['create', '--tenant', 'acme'],
      ['revoke', 'not-an-id'],
    ]) {
      await assert.rejects(keys(...args), (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 2, args.join(' '));
        assert.match(error.stderr ?? '', /usage:/);
        return true;
      });
    }
  });

  it('sets and removes a tenant quota', async () => {
    await keys('quota', '--tenant', 'acme', '--daily-events', '5000');
    assert.deepEqual(
      [...(await sql`select tenant, daily_events from tenant_quotas`)],
      [{ tenant: 'acme', daily_events: '5000' }],
    );
    await keys('quota', '--tenant', 'acme', '--daily-events', 'none');
    assert.equal((await sql`select 1 from tenant_quotas`).length, 0);
  });

  it('ensure keeps a live key in its 0600 file and replaces a revoked one', async () => {
    const file = join(dir, 'edge.key');
    const id = (
      await keys('ensure', '--file', file, '--tenant', 'sluice', '--scopes', 'events:relay')
    ).trim();
    const key = (await readFile(file, 'utf8')).trim();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(
      (await keys('ensure', '--file', file, '--tenant', 'sluice', '--scopes', 'events:relay')).trim(),
      id,
    );
    assert.equal((await readFile(file, 'utf8')).trim(), key, 'a second run changes nothing');
    await keys('revoke', id);
    const renewed = (
      await keys('ensure', '--file', file, '--tenant', 'sluice', '--scopes', 'events:relay')
    ).trim();
    assert.notEqual(renewed, id);
    assert.notEqual((await readFile(file, 'utf8')).trim(), key);
  });
});
