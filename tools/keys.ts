// ./sluice keys: create, list and revoke API keys, and set a tenant's daily quota, straight in
// PostgreSQL (the operator's tool; an `admin` key does the same for its own tenant over HTTP).
//   keys create --tenant T --scopes S[,S...] [--name N] [--events-per-second N]
//               [--requests-per-second N] [--expires 30d|2027-01-01T00:00:00Z] [--json]
//   keys list [--tenant T] [--json]
//   keys revoke ID
//   keys quota --tenant T --daily-events N|none
//   keys ensure --file F --tenant T --scopes S[,S...] [--name N]
//     (the local stack's own keys: keeps F's key while it is live, else creates one into F, 0600)
// With --json the last line of stdout is JSON ({id, key, tenant, scopes} for create).

import { readFile, writeFile } from 'node:fs/promises';
import { isKeyId } from '@sluice/shared/auth/api-key';
import { createKey, hashKeySync, listKeys, revokeKey, setDailyQuota } from '@sluice/shared/auth/key-store';
import type { Scope } from '@sluice/shared/auth/scopes';
import { isScope, SCOPES } from '@sluice/shared/auth/scopes';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { apiKeys } from '@sluice/shared/db/schema';
import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { and, eq, gt, isNull, or } from 'drizzle-orm';
import { exitWithUsage, parseCliArgs, tenantArg } from './cli-args.ts';

const USAGE = `./sluice keys create --tenant T --scopes ${SCOPES.join('|')}[,...] [--name N] [--events-per-second N] [--requests-per-second N] [--expires 30d|ISO-8601] [--json]
       ./sluice keys list [--tenant T] [--json]
       ./sluice keys revoke ID
       ./sluice keys quota --tenant T --daily-events N|none
       ./sluice keys ensure --file F --tenant T --scopes S[,...] [--name N]`;

const { values, positionals } = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
      'events-per-second': { type: 'string' },
      'requests-per-second': { type: 'string' },
      expires: { type: 'string' },
      'daily-events': { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
    },
  },
  USAGE,
);

function usageError(message: string): never {
  return exitWithUsage(USAGE, message);
}

function tenantOption(): string {
  return tenantArg(values.tenant, USAGE);
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) return usageError(`--${name}: a positive integer`);
  return n;
}

function expiry(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const relative = /^\d+(ms|s|m|h|d)$/.test(value);
  const at = relative ? new Date(Date.now() + durationMs(value as Duration)) : new Date(value);
  if (Number.isNaN(at.getTime()) || at.getTime() <= Date.now())
    return usageError('--expires: a duration (30d, 12h) or a future ISO-8601 time');
  return at;
}

const db = createDb({
  url: process.env.SLUICE_DATABASE_URL ?? 'postgres://sluice:sluice@127.0.0.1:5432/sluice',
  maxConnections: 1,
  applicationName: 'sluice-keys',
});
try {
  await applyMigrations(db.db);
  const [command, arg] = positionals;
  switch (command) {
    case 'create': {
      const scopes = (values.scopes ?? '').split(',').filter((s) => s !== '');
      if (scopes.length === 0) usageError('--scopes is required');
      const unknown = scopes.filter((s) => !isScope(s));
      if (unknown.length > 0)
        usageError(`unknown scope(s): ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
      const eventsPerSecond = positiveInt('events-per-second', values['events-per-second']);
      const requestsPerSecond = positiveInt('requests-per-second', values['requests-per-second']);
      const expiresAt = expiry(values.expires);
      const created = await createKey(db.db, {
        tenant: tenantOption(),
        scopes: scopes as Scope[],
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(eventsPerSecond === undefined ? {} : { eventsPerSecond }),
        ...(requestsPerSecond === undefined ? {} : { requestsPerSecond }),
        ...(expiresAt === undefined ? {} : { expiresAt }),
      });
      if (values.json === true) {
        console.log(
          JSON.stringify({
            id: created.id,
            key: created.key,
            tenant: created.tenant,
            scopes: created.scopes,
          }),
        );
      } else {
        console.log(`created key ${created.id} for tenant ${created.tenant} (${created.scopes.join(', ')})`);
        console.log(`  ${created.key}`);
        console.log('it is shown this once: sluice keeps only its SHA-256');
      }
      break;
    }
    case 'list': {
      const keys = await listKeys(db.db, values.tenant === undefined ? undefined : tenantOption());
      if (values.json === true) {
        console.log(JSON.stringify(keys));
        break;
      }
      for (const k of keys) {
        const state =
          k.revokedAt !== null
            ? `revoked ${k.revokedAt}`
            : k.expiresAt !== null
              ? `expires ${k.expiresAt}`
              : 'active';
        const limits = [
          k.eventsPerSecond === null ? '' : `${k.eventsPerSecond} events/s`,
          k.requestsPerSecond === null ? '' : `${k.requestsPerSecond} req/s`,
        ].filter((s) => s !== '');
        console.log(
          [k.id, k.tenant, k.scopes.join(','), state, limits.join(' ') || '-', k.name ?? ''].join('\t'),
        );
      }
      break;
    }
    case 'revoke': {
      if (arg === undefined || !isKeyId(arg)) usageError('revoke needs the key id (16 of a-z 2-7)');
      const outcome = await revokeKey(db.db, arg);
      if (outcome === 'unknown') {
        console.error(`no key ${arg}`);
        process.exitCode = 1;
      } else console.log(outcome === 'revoked' ? `revoked ${arg}` : `${arg} was already revoked`);
      break;
    }
    case 'quota': {
      const tenant = tenantOption();
      const daily = values['daily-events'];
      if (daily === undefined) usageError('--daily-events is required (N or none)');
      await setDailyQuota(
        db.db,
        tenant,
        daily === 'none' ? null : (positiveInt('daily-events', daily) ?? null),
      );
      console.log(daily === 'none' ? `${tenant}: no daily quota` : `${tenant}: ${daily} events a day`);
      break;
    }
    case 'ensure': {
      const file = values.file;
      if (file === undefined) usageError('--file is required');
      const tenant = tenantOption();
      const scopes = (values.scopes ?? '').split(',').filter(isScope);
      if (scopes.length === 0) usageError('--scopes is required');
      const held = (await readFile(file, 'utf8').catch(() => '')).trim();
      const [live] =
        held === ''
          ? []
          : await db.db
              .select({ id: apiKeys.id })
              .from(apiKeys)
              .where(
                and(
                  eq(apiKeys.keyHash, hashKeySync(held)),
                  eq(apiKeys.tenant, tenant),
                  isNull(apiKeys.revokedAt),
                  or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, new Date())),
                ),
              );
      if (live !== undefined) {
        console.log(live.id);
        break;
      }
      const created = await createKey(db.db, {
        tenant,
        scopes,
        ...(values.name === undefined ? {} : { name: values.name }),
      });
      await writeFile(file, `${created.key}\n`, { mode: 0o600 });
      console.log(created.id);
      break;
    }
    default:
      usageError(command === undefined ? 'a command is required' : `unknown command ${command}`);
  }
} finally {
  await db.close();
}
