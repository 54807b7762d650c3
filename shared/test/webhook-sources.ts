// Webhook sources for integration tests: added straight in a test's database (migrated first),
// sealed with the stack's SLUICE_SECRETS_KEY, exactly as `./sluice webhooks add` does.

import type { Result } from '../src/result.ts';
import { streamRegistry } from '../src/streams/registry.ts';
import { secretBox } from '../src/webhooks/secret-box.ts';
import type { SourceInfo, SourceSpec } from '../src/webhooks/source-store.ts';
import { addSource, removeSource, retirePrevious, rotateSource } from '../src/webhooks/source-store.ts';
import { withKeyDb } from './keys.ts';

function box() {
  const opened = secretBox(process.env.SLUICE_SECRETS_KEY);
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

export const addTestSource = (databaseUrl: string, spec: SourceSpec): Promise<SourceInfo> =>
  withKeyDb(databaseUrl, async (db) => value(await addSource(db, box(), streamRegistry(), spec)));

export const rotateTestSource = (databaseUrl: string, id: string, secret: string, overlapMs?: number) =>
  withKeyDb(databaseUrl, async (db) =>
    value(await rotateSource(db, box(), id, secret, overlapMs === undefined ? {} : { overlapMs })),
  );

export const retireTestSecret = (databaseUrl: string, id: string) =>
  withKeyDb(databaseUrl, async (db) => value(await retirePrevious(db, id)));

export const removeTestSource = (databaseUrl: string, id: string) =>
  withKeyDb(databaseUrl, async (db) => value(await removeSource(db, id)));
