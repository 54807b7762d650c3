// Exact invalidation of cached window answers (guarantee 3: an amended window's cached answers go
// stale at once). Window starts fall into hour buckets, each with a generation counter in Redis.
// The query service reads the generations of the buckets a range covers *before* it reads
// PostgreSQL and keeps them with the cached answer; a hit counts only while they are unchanged.
// The processor increments a bucket's generation *after* the transaction that amends a window in
// it committed. So an answer read before the amendment always carries an older generation: no
// interleaving serves it after the increment, which a delete-after-commit could not promise.

export const GENERATION_BUCKET_MS = 3_600_000;
/** Ranges covering more buckets than this are cached only briefly (a month of hours). */
export const MAX_GENERATION_BUCKETS = 744;
/** A generation outlives every cached answer that could hold it, so a reset cannot alias one. */
export const GENERATION_TTL_SECONDS = 7 * 24 * 3_600;

export interface WindowScope {
  readonly tenant: string;
  readonly stream: string;
  /** The declared window's name, e.g. `1m`. */
  readonly window: string;
}

/** The start of the hour bucket holding a window that starts at `windowStart`. */
export function bucketOf(windowStart: number): number {
  return Math.floor(windowStart / GENERATION_BUCKET_MS) * GENERATION_BUCKET_MS;
}

/** What every generation key starts with (a watch of their changes asks Redis for this prefix). */
export const generationKeyPrefix = (prefix: string) => `${prefix}gen:`;

// The hash tag keeps one stream's generations in one Redis Cluster slot (one MGET).
const keyOf = (prefix: string, scope: WindowScope, bucket: number) =>
  `${generationKeyPrefix(prefix)}{${scope.tenant}|${scope.stream}}:${scope.window}:${bucket}`;

/** The generation key of the bucket holding a window that starts at `windowStart`. */
export function generationKey(prefix: string, scope: WindowScope, windowStart: number): string {
  return keyOf(prefix, scope, bucketOf(windowStart));
}

/** Generation keys of every bucket holding a window start in [from, to); null past the cap. */
export function generationKeys(
  prefix: string,
  scope: WindowScope,
  from: number,
  to: number,
): string[] | null {
  const keys: string[] = [];
  for (let bucket = bucketOf(from); bucket < to; bucket += GENERATION_BUCKET_MS) {
    if (keys.length >= MAX_GENERATION_BUCKETS) return null;
    keys.push(keyOf(prefix, scope, bucket));
  }
  return keys;
}
