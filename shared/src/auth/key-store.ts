// API keys in PostgreSQL: create (the key is returned once, only its hash is written), list,
// revoke, and a tenant's daily quota. Used by the `./sluice keys` CLI and the admin API.

import { createHash } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { apiKeys, tenantQuotas } from '../db/schema.ts';
import { generateKey } from './api-key.ts';
import type { Scope } from './scopes.ts';

export const TENANT_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Node's synchronous SHA-256 (hex), equal to api-key.ts's hashKey: the services' hot path. */
export const hashKeySync = (key: string): string => createHash('sha256').update(key).digest('hex');

export interface KeySpec {
  readonly tenant: string;
  readonly scopes: readonly Scope[];
  readonly name?: string;
  readonly eventsPerSecond?: number;
  readonly requestsPerSecond?: number;
  readonly expiresAt?: Date;
}

/** A key as listed: never the key, never its hash. */
export interface KeyInfo {
  readonly id: string;
  readonly tenant: string;
  readonly name: string | null;
  readonly scopes: readonly string[];
  readonly eventsPerSecond: number | null;
  readonly requestsPerSecond: number | null;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly createdAt: string;
}

export interface CreatedKey extends KeyInfo {
  /** Shown once, at creation; sluice keeps only its SHA-256. */
  readonly key: string;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function info(row: typeof apiKeys.$inferSelect): KeyInfo {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    scopes: row.scopes,
    eventsPerSecond: row.eventsPerSecond,
    requestsPerSecond: row.requestsPerSecond,
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

export async function createKey(db: Db, spec: KeySpec): Promise<CreatedKey> {
  const { id, key } = generateKey();
  const [row] = await db
    .insert(apiKeys)
    .values({
      id,
      tenant: spec.tenant,
      name: spec.name ?? null,
      scopes: [...spec.scopes],
      keyHash: hashKeySync(key),
      eventsPerSecond: spec.eventsPerSecond ?? null,
      requestsPerSecond: spec.requestsPerSecond ?? null,
      expiresAt: spec.expiresAt ?? null,
    })
    .returning();
  if (row === undefined) throw new Error('insert into api_keys returned no row');
  return { ...info(row), key };
}

export async function listKeys(db: Db, tenant?: string): Promise<KeyInfo[]> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(tenant === undefined ? undefined : eq(apiKeys.tenant, tenant))
    .orderBy(asc(apiKeys.tenant), asc(apiKeys.createdAt));
  return rows.map(info);
}

/**
 * Revokes a key (of `tenant` only, when given: an admin key manages its own tenant's keys).
 * Returns whether a live key was revoked; revoking twice is not an error, the first time stands.
 */
export async function revokeKey(
  db: Db,
  id: string,
  tenant?: string,
): Promise<'revoked' | 'already' | 'unknown'> {
  const where =
    tenant === undefined ? eq(apiKeys.id, id) : and(eq(apiKeys.id, id), eq(apiKeys.tenant, tenant));
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(where, isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (revoked.length > 0) return 'revoked';
  const [found] = await db.select({ id: apiKeys.id }).from(apiKeys).where(where);
  return found === undefined ? 'unknown' : 'already';
}

/** Sets (or with null, removes) a tenant's daily events quota. */
export async function setDailyQuota(db: Db, tenant: string, dailyEvents: number | null): Promise<void> {
  if (dailyEvents === null) {
    await db.delete(tenantQuotas).where(eq(tenantQuotas.tenant, tenant));
    return;
  }
  await db
    .insert(tenantQuotas)
    .values({ tenant, dailyEvents })
    .onConflictDoUpdate({ target: tenantQuotas.tenant, set: { dailyEvents, updatedAt: sql`now()` } });
}
