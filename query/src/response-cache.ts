// The response cache in Redis. A response made only of settled windows that end before the
// watermark is complete and lives long; one holding provisional windows lives a few seconds, so a
// stale provisional number is never served past that TTL. A complete response is kept with the
// generations of the hour buckets it covers (read before PostgreSQL was) and is a hit only while
// they are unchanged: an amendment bumps its bucket's generation (guarantee 3, exact invalidation).

import type { Redis } from 'ioredis';

export interface CachedResponse {
  readonly body: string;
  readonly etag: string;
  readonly watermark: string | null;
}

interface StoredResponse extends CachedResponse {
  readonly generations: string;
}

export interface CacheLookup {
  readonly hit: CachedResponse | undefined;
  /** The covered buckets' generations now; null when unknown (Redis away, or too many buckets). */
  readonly generations: string | null;
}

export interface ResponseCache {
  /** One round trip: the cached response and the current generations of `generationKeys`. */
  get(key: string, generationKeys: readonly string[] | null): Promise<CacheLookup>;
  set(key: string, value: CachedResponse, generations: string | null, complete: boolean): Promise<void>;
}

export interface CacheOptions {
  readonly prefix: string;
  readonly settledTtlSeconds: number;
  readonly provisionalTtlSeconds: number;
}

export function createResponseCache(redis: Redis, options: CacheOptions): ResponseCache {
  return {
    async get(key, generationKeys) {
      try {
        const [raw, ...generations] = await redis.mget(`${options.prefix}${key}`, ...(generationKeys ?? []));
        const current = generationKeys === null ? null : generations.map((g) => g ?? '0').join(',');
        if (raw === null || raw === undefined) return { hit: undefined, generations: current };
        const stored = JSON.parse(raw) as StoredResponse;
        // A response cached with other generations predates an amendment in its range: a miss.
        if (stored.generations !== '' && stored.generations !== current)
          return { hit: undefined, generations: current };
        return {
          hit: { body: stored.body, etag: stored.etag, watermark: stored.watermark },
          generations: current,
        };
      } catch {
        // NOTE: the cache is an optimisation; with Redis away, answers come from PostgreSQL.
        return { hit: undefined, generations: null };
      }
    },
    async set(key, value, generations, complete) {
      // Long-lived only when complete and its generations are known; else it may be stale briefly.
      const long = complete && generations !== null;
      const stored: StoredResponse = { ...value, generations: long ? generations : '' };
      const ttl = long ? options.settledTtlSeconds : options.provisionalTtlSeconds;
      await redis.set(`${options.prefix}${key}`, JSON.stringify(stored), 'EX', ttl).catch(() => {});
    },
  };
}
