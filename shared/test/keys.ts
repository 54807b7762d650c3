// API keys for integration tests: created straight in a test's database (migrated first, as the
// database of an isolation is new), exactly as `./sluice keys create` does.

import type { CreatedKey, KeySpec } from '../src/auth/key-store.ts';
import { createKey, revokeKey, setDailyQuota } from '../src/auth/key-store.ts';
import { createDb } from '../src/db/client.ts';
import { applyMigrations } from '../src/db/migrate.ts';

export async function withKeyDb<T>(
  databaseUrl: string,
  use: (db: ReturnType<typeof createDb>['db']) => Promise<T>,
): Promise<T> {
  const handle = createDb({ url: databaseUrl, maxConnections: 1, applicationName: 'sluice-test-keys' });
  try {
    await applyMigrations(handle.db);
    return await use(handle.db);
  } finally {
    await handle.close();
  }
}

export const createTestKey = (databaseUrl: string, spec: KeySpec): Promise<CreatedKey> =>
  withKeyDb(databaseUrl, (db) => createKey(db, spec));

export const revokeTestKey = (databaseUrl: string, id: string) =>
  withKeyDb(databaseUrl, (db) => revokeKey(db, id));

export const setTestQuota = (databaseUrl: string, tenant: string, dailyEvents: number | null) =>
  withKeyDb(databaseUrl, (db) => setDailyQuota(db, tenant, dailyEvents));

/** The Authorization header of a key. */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * A key's secret: all after `slk_<id>_`. Not `split('_')`: base64url has `_` in its alphabet, and
 * a fragment of a secret would be a short string that turns up anywhere.
 */
export const secretOf = (key: string): string => key.slice('slk_'.length + 16 + 1);
