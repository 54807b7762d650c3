// Authentication of a Node service (ingest, query): the key table from PostgreSQL, or auth off.

import type postgres from 'postgres';
import type { KeyTable } from './key-table.ts';
import { startKeyTable } from './key-table.ts';
import type { Auth } from './require-key.ts';

export interface ServiceAuth extends Auth {
  close(): Promise<void>;
}

export interface ServiceAuthOptions {
  readonly mode: 'on' | 'off';
  readonly sql: postgres.Sql;
  readonly dailyEventsQuota: number;
  readonly warn: (message: string) => void;
  readonly onError: (error: unknown) => void;
}

export async function startServiceAuth(options: ServiceAuthOptions): Promise<ServiceAuth> {
  if (options.mode === 'off') {
    options.warn(
      'SLUICE_AUTH=off: every endpoint is open and every caller is the tenant "default" with every scope',
    );
    return { mode: 'off', verify: () => undefined, close: async () => {} };
  }
  const table: KeyTable = await startKeyTable({
    sql: options.sql,
    ...(options.dailyEventsQuota > 0 ? { defaultDailyEvents: options.dailyEventsQuota } : {}),
    onError: options.onError,
  });
  return { mode: 'on', verify: (key) => table.verify(key), close: () => table.close() };
}
