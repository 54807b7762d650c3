// The response cache in Redis. A response made only of settled windows that end before the
// watermark is complete and lives long; one holding provisional windows lives a few seconds, so a
// stale provisional number is never served past that TTL. A complete response is kept with the
// generations of the hour buckets it covers (read before PostgreSQL was) and is a hit only while
// they are unchanged: an amendment bumps its bucket's generation (guarantee 3, exact invalidation).
//
// Two Redis instances (issue 20, item 7): the entries live in the cache Redis
// (SLUICE_CACHE_REDIS_URL: its own `maxmemory` with `allkeys-lru`, so traffic can fill it and
// nothing else), the generation counters in the state Redis beside the processors' working state
// (`noeviction`: a counter evicted and re-created at 0 could match a stale answer again). A lookup
// reads both in parallel. INVARIANT (guarantee 3): an entry carries the generations it was computed
// with, and the counters are read after the request came in; an amendment bumped after its commit
// makes them differ, whichever of the two reads answers first and on whichever instance.
//
// An entry is four header lines (format, generations, ETag, watermark) and then the body's bytes
// as sent: a hit reads it as a Buffer and answers with a slice of it, without decoding, parsing or
// re-encoding the body (which is most of the entry).

import type { RedisClient } from '@sluice/shared/redis/client';
import { mgetAnySlot } from '@sluice/shared/redis/slots';

export interface CachedResponse {
  /** The JSON body as sent: UTF-8 bytes, encoded once when the answer was made. */
  readonly body: Uint8Array<ArrayBuffer>;
  readonly etag: string;
  readonly watermark: string | null;
}

export interface CacheLookup {
  readonly hit: CachedResponse | undefined;
  /** The covered buckets' generations now; null when unknown (Redis away, or too many buckets). */
  readonly generations: string | null;
  /**
   * The hit was stored complete, with the generations it was computed with, and they are still
   * `generations`: it stays right until one of them moves (so an in-process tier may keep it).
   */
  readonly complete?: boolean;
}

export interface ResponseCache {
  /**
   * The answer under `key` when this process holds it and knows it current without any I/O (an
   * in-process tier); undefined when only get() can tell. Absent where every lookup is I/O.
   */
  peek?(key: string): CachedResponse | undefined;
  /** One round trip: the cached response and the current generations of `generationKeys`. */
  get(key: string, generationKeys: readonly string[] | null): Promise<CacheLookup>;
  /** `generationKeys`: the keys whose generations these are (an in-process tier indexes them). */
  set(
    key: string,
    value: CachedResponse,
    generations: string | null,
    complete: boolean,
    generationKeys?: readonly string[],
  ): Promise<void>;
}

export interface CacheOptions {
  readonly prefix: string;
  readonly settledTtlSeconds: number;
  readonly provisionalTtlSeconds: number;
}

const FORMAT = 'r2';
const NEWLINE = 10;

/** The header lines and the body of an entry; undefined for an entry of another format. */
function decode(
  entry: Buffer,
): { generations: string; etag: string; watermark: string; body: Uint8Array<ArrayBuffer> } | undefined {
  const lines: string[] = [];
  let at = 0;
  for (let i = 0; i < 4; i += 1) {
    const end = entry.indexOf(NEWLINE, at);
    if (end < 0) return undefined;
    lines.push(entry.toString('utf8', at, end));
    at = end + 1;
  }
  const [format, generations = '', etag = '', watermark = ''] = lines;
  if (format !== FORMAT) return undefined;
  // A view of the entry's bytes, not a copy (a pooled or shared buffer is copied out of it).
  const buffer = entry.buffer;
  const body =
    buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer, entry.byteOffset + at, entry.byteLength - at)
      : new Uint8Array(entry.subarray(at));
  return { generations, etag, watermark, body };
}

export interface CacheRedis {
  /** Where the entries are: an instance that may evict them (allkeys-lru). */
  readonly entries: RedisClient;
  /** Where the generation counters are: the state Redis, never evicting. */
  readonly generations: RedisClient;
}

export function createResponseCache(redis: CacheRedis, options: CacheOptions): ResponseCache {
  return {
    async get(key, generationKeys) {
      try {
        const [raw, generations] = await Promise.all([
          redis.entries.getBuffer(`${options.prefix}${key}`),
          generationKeys === null || generationKeys.length === 0
            ? Promise.resolve([])
            : mgetAnySlot(redis.generations, generationKeys),
        ]);
        const current = generationKeys === null ? null : generations.map((g) => g ?? '0').join(',');
        const stored = raw === null ? undefined : decode(raw);
        if (stored === undefined) return { hit: undefined, generations: current };
        // A response cached with other generations predates an amendment in its range: a miss.
        if (stored.generations !== '' && stored.generations !== current)
          return { hit: undefined, generations: current };
        return {
          hit: {
            body: stored.body,
            etag: stored.etag,
            watermark: stored.watermark === '' ? null : stored.watermark,
          },
          generations: current,
          complete: stored.generations !== '',
        };
      } catch {
        // NOTE: the cache is an optimisation; with either Redis away, answers come from PostgreSQL.
        return { hit: undefined, generations: null };
      }
    },
    async set(key, value, generations, complete) {
      // Long-lived only when complete and its generations are known; else it may be stale briefly.
      const long = complete && generations !== null;
      const header = `${FORMAT}\n${long ? generations : ''}\n${value.etag}\n${value.watermark ?? ''}\n`;
      const entry = Buffer.concat([Buffer.from(header), value.body]);
      const ttl = long ? options.settledTtlSeconds : options.provisionalTtlSeconds;
      // NOTE: refused when the cache Redis is full or away: the next request computes it again.
      await redis.entries.set(`${options.prefix}${key}`, entry, 'EX', ttl).catch(() => {});
    },
  };
}
