// ./sluice webhooks: a tenant's webhook sources (issue 22), straight in PostgreSQL (the operator's
// tool; an `admin` key does the same for its own tenant at /v1/admin/webhooks).
//   webhooks add --tenant T --provider P (--secret S | --secret-file F | --secret -) [--stream S]
//                [--name N] [--tolerance SECONDS] [--map field=/json/pointer ...]
//                [--hmac-header H] [--hmac-algorithm sha256|sha512] [--hmac-encoding hex|base64]
//                [--hmac-prefix P] [--timestamp-header H] [--id-header H] [--type-header H]
//                [--signed-content TEMPLATE] [--json]
//   webhooks list [--tenant T] [--json]
//   webhooks rotate ID (--secret S | --secret-file F | --secret -) [--overlap 24h]
//   webhooks retire ID
//   webhooks remove ID
//   webhooks ensure --file F --tenant T --provider P (the demo's: keeps F's source while it lives)
// With --json the last line of stdout is JSON ({id, url} for add). Secrets are sealed with
// SLUICE_SECRETS_KEY before they are written; none is ever printed back.

import { chmod, readFile, writeFile } from 'node:fs/promises';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import type { AppError, Result } from '@sluice/shared/result';
import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { secretBox } from '@sluice/shared/webhooks/secret-box';
import type { Provider } from '@sluice/shared/webhooks/source';
import { isProvider, PROVIDERS, SOURCE_ID_PATTERN } from '@sluice/shared/webhooks/source';
import {
  addSource,
  listSources,
  removeSource,
  retirePrevious,
  rotateSource,
} from '@sluice/shared/webhooks/source-store';
import { exitWithUsage, parseCliArgs, tenantArg } from './cli-args.ts';

const USAGE = `./sluice webhooks add --tenant T --provider ${PROVIDERS.join('|')} (--secret S | --secret-file F | --secret -)
           [--stream S] [--name N] [--tolerance SECONDS] [--map field=/json/pointer ...]
           [--hmac-header H] [--hmac-algorithm sha256|sha512] [--hmac-encoding hex|base64] [--hmac-prefix P]
           [--timestamp-header H] [--id-header H] [--type-header H] [--signed-content TEMPLATE] [--json]
       ./sluice webhooks list [--tenant T] [--json]
       ./sluice webhooks rotate ID (--secret S | --secret-file F | --secret -) [--overlap 24h]
       ./sluice webhooks retire ID
       ./sluice webhooks remove ID
  (--secret-file or --secret - keep a secret off the command line and out of shell history)`;

const { values, positionals } = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      provider: { type: 'string' },
      secret: { type: 'string' },
      'secret-file': { type: 'string' },
      stream: { type: 'string' },
      name: { type: 'string' },
      tolerance: { type: 'string' },
      map: { type: 'string', multiple: true },
      'hmac-header': { type: 'string' },
      'hmac-algorithm': { type: 'string' },
      'hmac-encoding': { type: 'string' },
      'hmac-prefix': { type: 'string' },
      'timestamp-header': { type: 'string' },
      'id-header': { type: 'string' },
      'type-header': { type: 'string' },
      'signed-content': { type: 'string' },
      overlap: { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
    },
  },
  USAGE,
);

function usageError(message: string): never {
  return exitWithUsage(USAGE, message);
}

/** A refusal of the store: validation is a usage error (2), an unknown source 1. */
function orExit<T>(result: Result<T, AppError>): T {
  if (result.ok) return result.value;
  console.error(result.error.message);
  process.exit(result.error.code === 'not_found' ? 1 : 2);
}

function tenantOption(): string {
  return tenantArg(values.tenant, USAGE);
}

function providerOption(): Provider {
  const provider = values.provider ?? '';
  return isProvider(provider) ? provider : usageError(`--provider: one of ${PROVIDERS.join(', ')}`);
}

async function secretOption(): Promise<string> {
  const file = values['secret-file'];
  if (values.secret !== undefined && file !== undefined) usageError('--secret or --secret-file, not both');
  if (values.secret === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').trim();
  }
  if (values.secret !== undefined) return values.secret;
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    return text === undefined ? usageError(`--secret-file ${file}: cannot be read`) : text.trim();
  }
  return usageError('a secret is required: --secret S, --secret-file F or --secret - (stdin)');
}

function sourceId(arg: string | undefined, command: string): string {
  if (arg === undefined || !SOURCE_ID_PATTERN.test(arg))
    usageError(`${command} needs the source id (wh_...)`);
  return arg;
}

/** `field=/pointer` pairs into a mapping object. */
function mapping(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) usageError(`--map ${pair}: field=/json/pointer`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** The options object the store checks (sourceOptionsSchema): only what was given. */
function sourceOptions(): Record<string, unknown> {
  const hmac = Object.fromEntries(
    (
      [
        ['header', values['hmac-header']],
        ['algorithm', values['hmac-algorithm']],
        ['encoding', values['hmac-encoding']],
        ['prefix', values['hmac-prefix']],
        ['timestampHeader', values['timestamp-header']],
        ['idHeader', values['id-header']],
        ['typeHeader', values['type-header']],
        ['signedContent', values['signed-content']],
      ] as const
    ).filter(([, value]) => value !== undefined),
  );
  const tolerance = values.tolerance === undefined ? undefined : Number(values.tolerance);
  const map = mapping(values.map);
  return {
    ...(tolerance === undefined ? {} : { toleranceSeconds: tolerance }),
    ...(Object.keys(hmac).length === 0 ? {} : { hmac }),
    ...(map === undefined ? {} : { mapping: map }),
  };
}

function box() {
  return orExit(secretBox(process.env.SLUICE_SECRETS_KEY));
}

const db = createDb({
  url: process.env.SLUICE_DATABASE_URL ?? 'postgres://sluice:sluice@127.0.0.1:5432/sluice',
  maxConnections: 1,
  applicationName: 'sluice-webhooks',
});
try {
  await applyMigrations(db.db);
  const [command, arg] = positionals;
  switch (command) {
    case 'add': {
      const tenant = tenantOption();
      const provider = providerOption();
      const secret = await secretOption();
      const added = orExit(
        await addSource(db.db, box(), streamRegistry(), {
          tenant,
          provider,
          secret,
          ...(values.stream === undefined ? {} : { stream: values.stream }),
          ...(values.name === undefined ? {} : { name: values.name }),
          options: sourceOptions(),
        }),
      );
      if (values.json === true) console.log(JSON.stringify({ id: added.id, url: added.url }));
      else {
        console.log(
          `added ${added.provider} source ${added.id} for tenant ${added.tenant} -> stream ${added.stream}`,
        );
        console.log(`  deliveries to POST ${added.url} (on the edge or ingest)`);
      }
      break;
    }
    case 'list': {
      const sources = await listSources(db.db, values.tenant === undefined ? undefined : tenantOption());
      if (values.json === true) {
        console.log(JSON.stringify(sources));
        break;
      }
      for (const s of sources) {
        const state =
          s.removedAt !== null
            ? `removed ${s.removedAt}`
            : s.previousSecretRetiresAt !== null
              ? `rotating (old secret until ${s.previousSecretRetiresAt})`
              : 'active';
        console.log([s.id, s.tenant, s.provider, s.stream, state, s.url, s.name ?? ''].join('\t'));
      }
      break;
    }
    case 'rotate': {
      const id = sourceId(arg, 'rotate');
      const overlap = values.overlap;
      if (overlap !== undefined && !/^\d+(ms|s|m|h|d)$/.test(overlap))
        usageError('--overlap: a duration (24h, 30m, 0s)');
      const rotated = orExit(
        await rotateSource(db.db, box(), id, await secretOption(), {
          ...(overlap === undefined ? {} : { overlapMs: durationMs(overlap as Duration) }),
        }),
      );
      console.log(`rotated ${id}: the old secret verifies until ${rotated.previousSecretRetiresAt ?? 'now'}`);
      break;
    }
    case 'retire': {
      const id = sourceId(arg, 'retire');
      orExit(await retirePrevious(db.db, id));
      console.log(`retired the old secret of ${id}: only the current one verifies`);
      break;
    }
    case 'remove': {
      const id = sourceId(arg, 'remove');
      orExit(await removeSource(db.db, id));
      console.log(`removed ${id}: its URL answers 404`);
      break;
    }
    case 'ensure': {
      // The demo's sources: F holds {id, url, provider, secret} (0600) and is kept while its source
      // lives; else a source with a fresh random secret is added and written to F.
      const file = values.file;
      if (file === undefined) usageError('--file is required');
      const tenant = tenantOption();
      const provider = providerOption();
      // A missing or unreadable file is no source yet: a fresh one replaces it.
      const held: { id?: unknown } = await readFile(file, 'utf8').then(
        (text): { id?: unknown } => {
          try {
            return JSON.parse(text) as { id?: unknown };
          } catch {
            return {};
          }
        },
        () => ({}),
      );
      const live = (await listSources(db.db, tenant)).find((s) => s.id === held.id && s.removedAt === null);
      if (live !== undefined) {
        console.log(live.id);
        break;
      }
      const secret =
        provider === 'stripe' || provider === 'standard-webhooks'
          ? `whsec_${randomBase64(32)}`
          : randomBase64(32).replace(/[+/=]/g, '');
      const added = orExit(
        await addSource(db.db, box(), streamRegistry(), {
          tenant,
          provider,
          secret,
          name: `demo ${provider}`,
        }),
      );
      // writeFile's mode applies only to a new file: chmod first, so an old file's looser mode never
      // holds the new secret.
      await chmod(file, 0o600).catch(() => undefined);
      await writeFile(file, `${JSON.stringify({ id: added.id, url: added.url, provider, secret })}\n`, {
        mode: 0o600,
      });
      console.log(added.id);
      break;
    }
    default:
      usageError(command === undefined ? 'a command is required' : `unknown command ${command}`);
  }
} finally {
  await db.close();
}

function randomBase64(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64');
}
