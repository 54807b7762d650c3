// Who is calling: what a verified key stands for. Web APIs only (the edge caches these).

import type { Scope } from './scopes.ts';
import { SCOPES } from './scopes.ts';

export interface KeyLimits {
  /** Events per second across every edge and ingest process; absent: no limit. */
  readonly eventsPerSecond?: number;
  /** Requests per second across every edge, ingest and query process; absent: no limit. */
  readonly requestsPerSecond?: number;
  /** The tenant's events per UTC day; absent: no quota. */
  readonly dailyEvents?: number;
}

export interface Principal {
  /** The key's public id (`slk_<id>_...`): what logs, traces and metrics name, never the key. */
  readonly keyId: string;
  readonly tenant: string;
  readonly scopes: readonly Scope[];
  /** Epoch ms, or null for a key that does not expire. */
  readonly expiresAt: number | null;
  readonly limits: KeyLimits;
}

/** The principal of every request when auth is off (SLUICE_AUTH=off): the default tenant, every scope. */
export const AUTH_OFF_PRINCIPAL: Principal = {
  keyId: 'auth-off',
  tenant: 'default',
  scopes: SCOPES,
  expiresAt: null,
  limits: {},
};

export const hasLimits = (p: Principal): boolean =>
  p.limits.eventsPerSecond !== undefined ||
  p.limits.requestsPerSecond !== undefined ||
  p.limits.dailyEvents !== undefined;
