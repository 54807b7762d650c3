// ./sluice webhooks (issue 22): add prints {id, url} as the last line with --json, the secret is
// sealed in PostgreSQL and never printed back, list/rotate/retire/remove work by id with clear
// exit codes; and the curl + openssl commands `./sluice demo` prints for its GitHub and Stripe
// sources, run as printed against a real ingest, are accepted (200).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { waitFor } from '../../../shared/test/harness.ts';
import type { Isolation, ServiceHandle } from '../../../shared/test/services.ts';
import { isolate, startService } from '../../../shared/test/services.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const sluice = `${root}/sluice`;
const SECRET = 'It is a Secret to Everybody';

describe('./sluice webhooks', () => {
  let iso: Isolation;
  let sql: postgres.Sql;
  let dir: string;
  let ingest: ServiceHandle;
  const env = () => ({ ...process.env, SLUICE_DATABASE_URL: iso.databaseUrl });
  const webhooks = async (...args: string[]) =>
    (await run(sluice, ['webhooks', ...args], { env: env() })).stdout;
  /** The exit code and stderr of a refused command. */
  const refused = async (...args: string[]) => {
    try {
      await run(sluice, ['webhooks', ...args], { env: env() });
    } catch (error) {
      const failed = error as { code?: number; stderr?: string };
      return { code: failed.code, stderr: failed.stderr ?? '' };
    }
    throw new Error(`webhooks ${args.join(' ')} succeeded`);
  };

  before(async () => {
    iso = await isolate('webhookscli');
    sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
    dir = await mkdtemp(join(tmpdir(), 'sluice-webhooks-'));
  });
  after(async () => {
    await ingest?.stop();
    await sql.end();
    await iso.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a source (--json last line {id, url}), seals its secret, lists, rotates, retires, removes', async () => {
    const out = await webhooks(
      'add',
      '--tenant',
      'acme',
      '--provider',
      'github',
      '--secret',
      SECRET,
      '--json',
    );
    assert.ok(!out.includes(SECRET), 'the secret is not printed');
    const last = JSON.parse(out.trim().split('\n').at(-1) ?? '') as { id: string; url: string };
    assert.deepEqual(Object.keys(last).sort(), ['id', 'url']);
    assert.match(last.id, /^wh_[a-z2-7]{26}$/);
    assert.equal(last.url, `/v1/webhooks/${last.id}`);
    const [row] = await sql<{ secret: string; tenant: string }[]>`
      select secret, tenant from webhook_sources where id = ${last.id}`;
    assert.equal(row?.tenant, 'acme');
    const sealed = row?.secret ?? '';
    assert.ok(sealed.startsWith('v1:') && !sealed.includes(SECRET), 'sealed');

    const listed = await webhooks('list', '--tenant', 'acme');
    assert.match(listed, new RegExp(`${last.id}\\tacme\\tgithub\\twebhooks\\tactive`));
    assert.ok(!listed.includes(SECRET));

    const secretFile = join(dir, 'next-secret');
    await writeFile(secretFile, 'the next secret\n', { mode: 0o600 });
    assert.match(
      await webhooks('rotate', last.id, '--secret-file', secretFile, '--overlap', '1h'),
      /verifies until/,
    );
    const [rotated] = await sql<{ until: Date | null }[]>`
      select previous_retires_at as until from webhook_sources where id = ${last.id}`;
    const until = rotated?.until?.getTime() ?? 0;
    assert.ok(Math.abs(until - (Date.now() + 3_600_000)) < 60_000, 'the old secret verifies for an hour');
    assert.match(await webhooks('list', '--tenant', 'acme'), /rotating/);
    await webhooks('retire', last.id);
    assert.match(await webhooks('list', '--tenant', 'acme'), /\tactive\t/);
    assert.match(await webhooks('remove', last.id), /removed/);
    assert.match(await webhooks('list', '--tenant', 'acme'), /removed /);
  });

  it('refuses bad input with exit 2 and an unknown source with exit 1', async () => {
    for (const args of [
      ['add', '--tenant', 'acme', '--provider', 'nope', '--secret', SECRET],
      ['add', '--tenant', 'acme', '--provider', 'github', '--secret', 'short'],
      ['add', '--tenant', 'acme', '--provider', 'standard-webhooks', '--secret', 'whsec_!!'],
      ['add', '--tenant', 'acme', '--provider', 'github'],
      ['add', '--tenant', 'acme', '--provider', 'github', '--secret-file', join(dir, 'absent.secret')],
      ['add', '--tenant', 'acme', '--provider', 'github', '--secret', SECRET, '--stream', 'ecommerce'],
      ['add', '--tenant', 'a b', '--provider', 'github', '--secret', SECRET],
      ['rotate', 'not-an-id', '--secret', SECRET],
    ])
      assert.equal((await refused(...args)).code, 2, args.join(' '));
    const unknown = await refused('remove', `wh_${'a'.repeat(26)}`);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no webhook source/);
    // A demo file that is not JSON (cut short, edited) is no source: ensure adds a fresh one.
    const broken = join(dir, 'webhook-broken.json');
    await writeFile(broken, '{"id": "wh_', { mode: 0o644 });
    const fresh = (
      await webhooks('ensure', '--file', broken, '--tenant', 'demo', '--provider', 'github')
    ).trim();
    assert.match(fresh, /^wh_[a-z2-7]{26}$/);
    assert.equal((JSON.parse(await readFile(broken, 'utf8')) as { id: string }).id, fresh);
    assert.equal((await stat(broken)).mode & 0o777, 0o600, 'the secret is never in a looser file');
  });

  it("the demo's printed curl + openssl commands deliver to GitHub and Stripe sources (200)", async () => {
    ingest = await startService('ingest', { ...iso.env, SLUICE_AUTH: 'on' });
    for (const provider of ['github', 'stripe'] as const) {
      const file = join(dir, `webhook-${provider}.json`);
      const ensure = ['ensure', '--file', file, '--tenant', 'demo', '--provider', provider];
      const id = (await webhooks(...ensure)).trim();
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await webhooks(...ensure)).trim(), id, 'ensure keeps a live source');
      const script = `source "$SLUICE_ROOT/deploy/local/lib/common.sh"; source "$SLUICE_ROOT/deploy/local/lib/webhooks.sh"; webhook_example ${provider} ${ingest.url} ${file}`;
      const printed = (await run('bash', ['-c', script], { env: { ...process.env, SLUICE_ROOT: root } }))
        .stdout;
      const secret = (JSON.parse(await readFile(file, 'utf8')) as { secret: string }).secret;
      assert.ok(printed.includes(id) && printed.includes('openssl dgst -sha256 -hmac'), printed);
      // Run as printed (the source may take a moment to reach ingest's table: 404 until then).
      const answer = await waitFor(
        async () => {
          const { stdout } = await run('bash', ['-c', printed]);
          return stdout.includes('"stream":"webhooks"') ? stdout : undefined;
        },
        { timeoutMs: 10_000, what: `${provider} delivery accepted` },
      );
      assert.match(answer, /"redelivery":false/);
      assert.ok(!answer.includes(secret));
    }
  });
});
