// The in-process tier in front of the Redis response cache: a hot answer is served from this
// process's memory without fetching its body from Redis, and guarantee 3 holds as it does there:
//   - a complete answer is a hit only while the generations of the hour buckets it covers are
//     the ones it was computed with: a read of those counters per hit, sent after the request
//     came in (the reads of one event-loop turn share one MGET: coalesced-reads.ts); an amendment
//     bumps its bucket's counter after its commit, so the answer is a miss from then on. A
//     complete answer found in Redis (made by another process) is kept here too, with the
//     generations that lookup read;
//   - an answer holding provisional windows is kept only for the provisional TTL from when it
//     was computed here (one read back from Redis is not kept here, its age being unknown).
// peek() answers without any I/O, for the hit path (hit-path.ts): only what get() would answer
// without a read (provisional within its TTL, complete and verified in the watch's armed epoch).
// Bounded by entry count and bytes, least recently used first out.

import type { GenerationWatch } from './generation-watch.ts';
import type { CachedResponse, CacheLookup, ResponseCache } from './response-cache.ts';

export interface LocalTierOptions {
  /** The current values of generation counters (Redis MGET). */
  readonly readGenerations: (keys: readonly string[]) => Promise<(string | null)[]>;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly settledTtlMs: number;
  readonly provisionalTtlMs: number;
  readonly now: () => number;
  /**
   * Pushed invalidation of the counters, when there is one: an answer checked against Redis while
   * the watch is armed is a hit with no read until an invalidation names one of its counters.
   */
  readonly watch?: GenerationWatch;
}

interface Entry {
  readonly value: CachedResponse;
  /** Set for a complete answer: the counters it was computed with. */
  readonly generations: string | null;
  readonly generationKeys: readonly string[];
  readonly expiresAt: number;
  readonly bytes: number;
  /** The watch epoch in which its counters were last read equal to `generations`. */
  verifiedIn: number | undefined;
}

export function withLocalTier(shared: ResponseCache, options: LocalTierOptions): ResponseCache {
  const entries = new Map<string, Entry>();
  /** Counter key -> the keys of the complete answers that depend on it (for invalidations). */
  const dependents = new Map<string, Set<string>>();
  let bytes = 0;

  const remove = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    bytes -= entry.bytes;
    if (entry.generations === null) return;
    for (const generationKey of entry.generationKeys) {
      const keys = dependents.get(generationKey);
      keys?.delete(key);
      if (keys?.size === 0) dependents.delete(generationKey);
    }
  };

  // An invalidated counter drops the answers that depend on it; "anything" (a flush, or the watch
  // disarmed) leaves them to be read against Redis again, since the epoch moved.
  options.watch?.onInvalidate((generationKey) => {
    if (generationKey === null) return;
    for (const key of [...(dependents.get(generationKey) ?? [])]) remove(key);
  });

  /** Current without a read: provisional (its TTL is checked apart), or verified in this epoch. */
  const knownCurrent = (entry: Entry): boolean => {
    if (entry.generations === null) return true;
    const epoch = options.watch?.armedEpoch();
    return epoch !== undefined && entry.verifiedIn === epoch;
  };

  const current = async (key: string, entry: Entry): Promise<boolean> => {
    if (knownCurrent(entry)) return true;
    const epoch = options.watch?.armedEpoch();
    try {
      const now = await options.readGenerations(entry.generationKeys);
      const same = now.map((g) => g ?? '0').join(',') === entry.generations;
      // Trusted from now on only if the watch stayed armed in the same epoch over the read and no
      // invalidation removed the entry meanwhile: a change after the read then reaches it.
      if (same && epoch !== undefined && options.watch?.armedEpoch() === epoch && entries.get(key) === entry)
        entry.verifiedIn = epoch;
      return same;
    } catch {
      return false;
    }
  };

  function keep(
    key: string,
    value: CachedResponse,
    generations: string | null,
    complete: boolean,
    generationKeys: readonly string[],
  ): void {
    // A complete answer whose counters are unknown cannot be checked: not kept here.
    if (complete && (generations === null || generationKeys.length === 0)) return;
    const size = value.body.byteLength;
    if (size > options.maxBytes / 8) return;
    remove(key);
    const ttl = complete ? options.settledTtlMs : options.provisionalTtlMs;
    entries.set(key, {
      value,
      generations: complete ? generations : null,
      generationKeys,
      expiresAt: options.now() + ttl,
      bytes: size,
      verifiedIn: undefined,
    });
    bytes += size;
    if (complete)
      for (const generationKey of generationKeys) {
        let keys = dependents.get(generationKey);
        if (keys === undefined) {
          keys = new Set();
          dependents.set(generationKey, keys);
        }
        keys.add(key);
      }
    for (const oldest of entries.keys()) {
      if (entries.size <= options.maxEntries && bytes <= options.maxBytes) break;
      remove(oldest);
    }
  }

  /** Least recently used goes first: a hit moves to the end. */
  const touch = (key: string, entry: Entry) => {
    entries.delete(key);
    entries.set(key, entry);
  };

  return {
    peek(key) {
      const entry = entries.get(key);
      if (entry === undefined || entry.expiresAt <= options.now() || !knownCurrent(entry)) return undefined;
      touch(key, entry);
      return entry.value;
    },
    async get(key, generationKeys): Promise<CacheLookup> {
      const entry = entries.get(key);
      if (entry !== undefined && entry.expiresAt > options.now() && (await current(key, entry))) {
        touch(key, entry);
        return { hit: entry.value, generations: entry.generations };
      }
      remove(key);
      const lookup = await shared.get(key, generationKeys);
      // A complete answer another process (or this one before a restart) put in Redis is kept here
      // too: checked by its generations like one made here, and a hit without Redis's body after.
      if (lookup.hit !== undefined && lookup.complete === true && generationKeys !== null)
        keep(key, lookup.hit, lookup.generations, true, generationKeys);
      return lookup;
    },
    async set(key, value, generations, complete, generationKeys = []) {
      await shared.set(key, value, generations, complete, generationKeys);
      keep(key, value, generations, complete, generationKeys);
    },
  };
}
