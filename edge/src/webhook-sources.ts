// The edge's webhook source cache (issue 22, item 2): a delivery is verified at the edge without a
// database round trip, so forgeries are shed before they cost ingest anything.
//
// Modelled on key-cache.ts, and for the same reason: the edge never touches PostgreSQL (it runs on
// Deno, Bun and Workers hosts), so it asks ingest, which holds every live source in memory
// (shared/src/webhooks/source-table.ts), `GET /v1/webhooks/sources/{id}` with the edge's own relay
// key (events:relay), and keeps the answer for a short TTL:
// - only ids of the source shape (SOURCE_ID_PATTERN) are ever asked about; anything else is a 404
//   with no entry, so garbage paths cost nothing;
// - entries sit in a bounded LRU (guarantee 5): a flood of random well-shaped ids evicts, never
//   grows the cache past its bound;
// - concurrent asks for one id are one request to ingest (coalesced);
// - an unknown id (ingest's 404) stays unknown for 1 s without asking, so a flood of one id costs
//   ingest at most one ask a second;
// - ingest unreachable, failing, refusing the relay key or answering nonsense is a 503 (an outage
//   is not a verdict, never a 404), and nothing is cached; no entry is used past its TTL.
// INVARIANT (issue 22): a removed source is refused at the edge within ingest's reload (~1 s,
// NOTIFY-pushed) plus this cache's TTL (2 s by default): about 3 s. A rotation likewise.
// The secrets are held in memory only for the TTL and never logged.

import { lru } from '@sluice/shared/lru';
import type { AppError, Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { WebhookSource } from '@sluice/shared/webhooks/source';
import { PROVIDERS, SOURCE_ID_PATTERN, sourceOptionsSchema } from '@sluice/shared/webhooks/source';
import { z } from 'zod';

export interface SourceCacheOptions {
  readonly ingestUrl: string;
  /** The edge's relay key (events:relay); none with auth off (ingest then asks for none). */
  readonly ingestKey?: string;
  /** How long a live source is trusted before ingest is asked again (2 s). */
  readonly ttlMs?: number;
  /** How long an unknown id stays unknown without asking (1 s). */
  readonly negativeTtlMs?: number;
  /** Ids kept at most (10,000). */
  readonly maxEntries?: number;
  /** Per ask of ingest (2 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

export interface SourceCache {
  /** The live source, undefined when there is none; an `unavailable` error when ingest cannot say. */
  get(id: string): Promise<Result<WebhookSource | undefined, AppError>>;
  readonly size: number;
}

interface Entry {
  readonly source: WebhookSource | null;
  readonly until: number;
}

const sourceSchema = z.object({
  id: z.string().regex(SOURCE_ID_PATTERN),
  tenant: z.string().min(1).max(64),
  provider: z.enum(PROVIDERS),
  stream: z.string().min(1).max(128),
  options: sourceOptionsSchema,
  secrets: z
    .array(z.object({ value: z.string().min(1).max(1_024), retiresAt: z.number().nullable() }))
    .min(1)
    .max(4),
});

/** Asks of ingest at once, at most: beyond, a 503 (the provider retries). */
export const MAX_ASKING = 256;

const unavailable = (why: string): AppError =>
  appError('unavailable', `webhook sources cannot be checked right now (${why})`, {
    retryable: true,
    retryAfterSeconds: 1,
  });

export function createSourceCache(options: SourceCacheOptions): SourceCache {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 2_000;
  const negativeTtlMs = options.negativeTtlMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const headers: Record<string, string> =
    options.ingestKey === undefined ? {} : { authorization: `Bearer ${options.ingestKey}` };
  const entries = lru<string, Entry>(options.maxEntries ?? 10_000);
  // Unknown ids apart: a flood of random well-shaped ids cannot push the live sources out.
  const unknown = lru<string, Entry>(options.maxEntries ?? 10_000);
  // One ask per id at a time, and at most MAX_ASKING at once (guarantee 5: the lookup runs before
  // the route's in-flight bound, so random ids must not open asks to ingest without limit).
  const asking = new Map<string, Promise<Result<WebhookSource | null, AppError>>>();

  const ask = async (id: string): Promise<Result<WebhookSource | null, AppError>> => {
    let response: Response;
    try {
      response = await doFetch(new URL(`/v1/webhooks/sources/${id}`, options.ingestUrl), {
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      // Not the error's text: it names ingest's address, which is no provider's business.
      return fail(unavailable('ingest unreachable'));
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return ok(null);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      // 401/403: ingest refused the edge's relay key, the edge's configuration at fault, not the
      // provider's delivery: a 503, and the operator sees it in the edge's error rate.
      return fail(unavailable(`ingest answered ${response.status}`));
    }
    const parsed = sourceSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success || parsed.data.id !== id) return fail(unavailable('ingest answered no source'));
    return ok(parsed.data);
  };

  const lookUp = (id: string): Promise<Result<WebhookSource | null, AppError>> => {
    let pending = asking.get(id);
    if (pending === undefined && asking.size >= MAX_ASKING) return Promise.resolve(fail(unavailable('busy')));
    if (pending === undefined) {
      pending = ask(id)
        .then((answer) => {
          // An outage caches nothing: the next request asks again.
          if (answer.ok && answer.value === null)
            unknown.set(id, { source: null, until: now() + negativeTtlMs });
          else if (answer.ok) entries.set(id, { source: answer.value, until: now() + ttlMs });
          return answer;
        })
        .finally(() => asking.delete(id));
      asking.set(id, pending);
    }
    return pending;
  };

  return {
    async get(id) {
      if (!SOURCE_ID_PATTERN.test(id)) return ok(undefined);
      const entry = entries.get(id) ?? unknown.get(id);
      if (entry !== undefined && entry.until > now()) return ok(entry.source ?? undefined);
      const answer = await lookUp(id);
      return answer.ok ? ok(answer.value ?? undefined) : answer;
    },
    get size() {
      return entries.size + unknown.size;
    },
  };
}
