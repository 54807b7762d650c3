// The edge's verified-key cache: an API key is checked without a database round trip per request
// (issue 21, item 2).
//
// Design, and why: the edge runs on Deno, Bun and Workers hosts, where a PostgreSQL driver, a
// LISTEN connection or the whole key table are not to be had (or not wanted in every isolate). So
// the edge never touches the database: it asks ingest, which holds the key table in memory
// (shared/src/auth/key-table.ts), `GET /v1/auth/key` with the client's key, and keeps the answer
// for a short TTL. Signed short-lived tokens were the other way; they would need a token service,
// a second credential for every client and key rotation, for a revocation bound no better than a
// TTL. Here:
// - a key is cached by its SHA-256 (hashKey), never as itself, in a bounded LRU (guarantee 5);
// - concurrent asks for one key are one request to ingest (coalesced);
// - a key ingest refuses is cached as refused for 1 s, so a client retrying a bad key costs ingest
//   at most one check a second per key;
// - ingest unreachable is a 503 (KeyCheckUnavailable), never a 401: an outage is not a verdict.
//   A stale entry is not used past its TTL either, or a revoked key could live through an outage.
// INVARIANT (issue 21, item 2): a revoked key stops at the edge within ingest's reload (about
// 1 s after the revocation's commit, NOTIFY-pushed) plus this cache's TTL (2 s by default): < 5 s.

import { hashKey } from '@sluice/shared/auth/api-key';
import type { Principal } from '@sluice/shared/auth/principal';
import { SCOPES } from '@sluice/shared/auth/scopes';
import { lru } from '@sluice/shared/lru';
import { z } from 'zod';

export interface KeyCacheOptions {
  readonly ingestUrl: string;
  /** How long a verified key is trusted before ingest is asked again. */
  readonly ttlMs: number;
  /** How long a refused key stays refused without asking (1 s). */
  readonly negativeTtlMs?: number;
  /** Keys kept at most (10,000). */
  readonly maxEntries?: number;
  /** Per ask of ingest (2 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** Ingest could not say whether a key is valid: the request gets a 503, not a 401. */
export class KeyCheckUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyCheckUnavailable';
  }
}

export interface KeyCache {
  /** The key's principal, undefined when ingest refuses it; throws KeyCheckUnavailable. */
  verify(key: string): Promise<Principal | undefined>;
  readonly size: number;
}

interface Entry {
  readonly principal: Principal | null;
  readonly until: number;
}

const limitsSchema = z.object({
  eventsPerSecond: z.number().positive().optional(),
  requestsPerSecond: z.number().positive().optional(),
  dailyEvents: z.number().int().positive().optional(),
});
const principalSchema = z.object({
  keyId: z.string().min(1).max(64),
  tenant: z.string().min(1).max(64),
  // A scope this edge does not know is dropped, as the key table drops it.
  scopes: z.array(z.string()).transform((s) => SCOPES.filter((scope) => s.includes(scope))),
  expiresAt: z.number().nullable(),
  limits: limitsSchema,
});

/** What the principal's JSON becomes, its optional limits present only when set. */
function toPrincipal(json: unknown): Principal | undefined {
  const parsed = principalSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { eventsPerSecond, requestsPerSecond, dailyEvents } = parsed.data.limits;
  return {
    ...parsed.data,
    limits: {
      ...(eventsPerSecond === undefined ? {} : { eventsPerSecond }),
      ...(requestsPerSecond === undefined ? {} : { requestsPerSecond }),
      ...(dailyEvents === undefined ? {} : { dailyEvents }),
    },
  };
}

export function createKeyCache(options: KeyCacheOptions): KeyCache {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const negativeTtlMs = options.negativeTtlMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const url = new URL('/v1/auth/key', options.ingestUrl).toString();
  const entries = lru<string, Entry>(options.maxEntries ?? 10_000);
  // Bounded by the requests in flight (the edge's in-flight limit): one ask per key at a time.
  const asking = new Map<string, Promise<Principal | null>>();

  const ask = async (key: string): Promise<Principal | null> => {
    let response: Response;
    try {
      response = await doFetch(url, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new KeyCheckUnavailable(
        `ingest unreachable for a key check: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new KeyCheckUnavailable(`ingest answered ${response.status} to a key check`);
    }
    const principal = toPrincipal(await response.json().catch(() => undefined));
    if (principal === undefined)
      throw new KeyCheckUnavailable('ingest answered a key check with no principal');
    return principal;
  };

  const lookUp = (key: string, hash: string): Promise<Principal | null> => {
    let pending = asking.get(hash);
    if (pending === undefined) {
      pending = ask(key)
        .then((principal) => {
          entries.set(hash, {
            principal,
            until: now() + (principal === null ? negativeTtlMs : options.ttlMs),
          });
          return principal;
        })
        .finally(() => asking.delete(hash));
      asking.set(hash, pending);
    }
    return pending;
  };

  return {
    async verify(key) {
      const hash = await hashKey(key);
      const entry = entries.get(hash);
      const principal =
        entry !== undefined && entry.until > now() ? entry.principal : await lookUp(key, hash);
      if (principal === null) return undefined;
      // Expiry is checked per request, as ingest does: a key expires on time, not at the next ask.
      if (principal.expiresAt !== null && principal.expiresAt <= now()) return undefined;
      return principal;
    },
    get size() {
      return entries.size;
    },
  };
}
