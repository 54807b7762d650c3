// Every service's view of the live keys: the whole table in memory, so a request is verified by a
// SHA-256 and a map lookup, never a database round trip. Kept current by db/live-table.ts (NOTIFY
// from 0004_api_keys.sql's trigger at once; a version poll every `reloadMs` as the fallback).
// INVARIANT (issue 21, item 2): a revoked key stops verifying here within reloadMs (1 s) of the
// revocation's commit; the edge's cache of answers from here adds its TTL (2 s): under 5 s.
// A key unknown here is refused without asking PostgreSQL, so random keys cannot load it.

import type postgres from 'postgres';
import { startLiveTable } from '../db/live-table.ts';
import { hashKeySync } from './key-store.ts';
import type { Principal } from './principal.ts';
import type { Scope } from './scopes.ts';
import { isScope } from './scopes.ts';

export interface KeyTable {
  /** The key's principal, or undefined for an unknown, revoked or expired key. */
  verify(key: string): Principal | undefined;
  readonly size: number;
  close(): Promise<void>;
}

export interface KeyTableOptions {
  readonly sql: postgres.Sql;
  readonly reloadMs?: number;
  /** Daily events quota of a tenant without a tenant_quotas row; undefined: none. */
  readonly defaultDailyEvents?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

interface KeyRow {
  id: string;
  tenant: string;
  scopes: string[];
  key_hash: string;
  events_per_second: number | null;
  requests_per_second: number | null;
  expires_ms: string | null;
}

async function load(
  sql: postgres.Sql,
  defaultDailyEvents: number | undefined,
): Promise<Map<string, Principal>> {
  const [keys, quotas] = await Promise.all([
    sql<KeyRow[]>`
      select id, tenant, scopes, key_hash, events_per_second, requests_per_second,
             (extract(epoch from expires_at) * 1000)::bigint as expires_ms
      from api_keys where revoked_at is null and (expires_at is null or expires_at > now())`,
    sql<{ tenant: string; daily_events: string }[]>`select tenant, daily_events from tenant_quotas`,
  ]);
  const quota = new Map(quotas.map((q) => [q.tenant, Number(q.daily_events)]));
  const table = new Map<string, Principal>();
  for (const k of keys) {
    const daily = quota.get(k.tenant) ?? defaultDailyEvents;
    table.set(k.key_hash, {
      keyId: k.id,
      tenant: k.tenant,
      scopes: k.scopes.filter(isScope) as Scope[],
      expiresAt: k.expires_ms === null ? null : Number(k.expires_ms),
      limits: {
        ...(k.events_per_second === null ? {} : { eventsPerSecond: k.events_per_second }),
        ...(k.requests_per_second === null ? {} : { requestsPerSecond: k.requests_per_second }),
        ...(daily === undefined || daily <= 0 ? {} : { dailyEvents: daily }),
      },
    });
  }
  return table;
}

const versionOf = (sql: postgres.Sql) => sql<{ v: string }[]>`
  select concat_ws(':',
    (select count(*) from api_keys), (select max(updated_at) from api_keys),
    (select count(*) from tenant_quotas), (select max(updated_at) from tenant_quotas)) as v`;

export async function startKeyTable(options: KeyTableOptions): Promise<KeyTable> {
  const { sql } = options;
  const now = options.now ?? Date.now;
  const live = await startLiveTable({
    sql,
    channel: 'sluice_keys',
    load: () => load(sql, options.defaultDailyEvents),
    version: async () => (await versionOf(sql))[0]?.v ?? '',
    ...(options.reloadMs === undefined ? {} : { reloadMs: options.reloadMs }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  return {
    verify(key) {
      const principal = live.current.get(hashKeySync(key));
      if (principal === undefined) return undefined;
      // Expiry is checked per request: a key expires on time, not at the next reload.
      if (principal.expiresAt !== null && principal.expiresAt <= now()) return undefined;
      return principal;
    },
    get size() {
      return live.current.size;
    },
    close: () => live.close(),
  };
}
