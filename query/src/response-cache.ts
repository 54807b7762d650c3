// The response cache in Redis. A response made only of settled windows that end before the
// watermark is complete and lives long; one holding provisional windows lives a few seconds, so a
// stale provisional number is never served past that TTL.

import type { Redis } from 'ioredis';

export interface CachedResponse {
  readonly body: string;
  readonly etag: string;
  readonly watermark: string | null;
}

export interface ResponseCache {
  get(key: string): Promise<CachedResponse | undefined>;
  set(key: string, value: CachedResponse, complete: boolean): Promise<void>;
}

export interface CacheOptions {
  readonly prefix: string;
  readonly settledTtlSeconds: number;
  readonly provisionalTtlSeconds: number;
}

export function createResponseCache(redis: Redis, options: CacheOptions): ResponseCache {
  return {
    async get(key) {
      try {
        const raw = await redis.get(`${options.prefix}${key}`);
        return raw === null ? undefined : (JSON.parse(raw) as CachedResponse);
      } catch {
        // NOTE: the cache is an optimisation; with Redis away, answers come from PostgreSQL.
        return undefined;
      }
    },
    async set(key, value, complete) {
      const ttl = complete ? options.settledTtlSeconds : options.provisionalTtlSeconds;
      await redis.set(`${options.prefix}${key}`, JSON.stringify(value), 'EX', ttl).catch(() => {});
    },
  };
}
