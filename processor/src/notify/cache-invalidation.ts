// After a transaction that amends windows committed, the generations of their hour buckets are
// bumped in Redis, so the query service stops serving answers cached before the amendment
// (guarantee 3). The bump must follow the commit, never precede it (see window-generations.ts).
// Redis away does not stop the processor: pending bumps are kept (bounded) and retried each tick.

import type { WindowScope } from '@sluice/shared/cache/window-generations';
import { GENERATION_TTL_SECONDS, generationKey } from '@sluice/shared/cache/window-generations';
import type { Logger } from '@sluice/shared/log';
import type { RedisClient } from '@sluice/shared/redis/client';
import { groupBySlot } from '@sluice/shared/redis/slots';
import type { Counter } from 'prom-client';

export interface AmendedWindow extends WindowScope {
  readonly start: number;
}

export interface CacheInvalidator {
  /** Records windows whose amendment is durable; their buckets are bumped on the next flush. */
  amended(windows: readonly AmendedWindow[]): void;
  /** Bumps what is pending; a failure keeps it pending for the next flush. */
  flush(): Promise<void>;
}

export interface InvalidatorDeps {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly log: Logger;
  readonly bumps: Counter<'outcome'>;
  /** Pending buckets kept while Redis is away; beyond, answers may be stale up to their TTL. */
  readonly maxPending?: number;
}

export function createCacheInvalidator(deps: InvalidatorDeps): CacheInvalidator {
  const pending = new Set<string>();
  const maxPending = deps.maxPending ?? 100_000;
  let dropped = 0;
  let flushing: Promise<void> | undefined;

  const bump = async () => {
    const keys = [...pending];
    pending.clear();
    // One MULTI per Redis Cluster slot (one in all on a single Redis): a group that fails is kept
    // for the next flush; the others landed, and a bump is only ever an increment.
    const failed: string[] = [];
    let firstError: unknown;
    await Promise.all(
      groupBySlot(deps.redis, keys, (k) => k).map(async (group) => {
        const multi = deps.redis.multi();
        for (const key of group) multi.incr(key).expire(key, GENERATION_TTL_SECONDS);
        try {
          const results = await multi.exec();
          if (results === null || results.some(([error]) => error !== null))
            throw new Error('redis MULTI failed');
        } catch (error) {
          firstError ??= error;
          failed.push(...group);
        }
      }),
    );
    if (keys.length > failed.length) deps.bumps.inc({ outcome: 'ok' }, keys.length - failed.length);
    if (failed.length > 0) {
      const error = firstError;
      for (const key of failed) if (pending.size < maxPending) pending.add(key);
      deps.bumps.inc({ outcome: 'retry' }, failed.length);
      deps.log.warn({ err: error, pending: pending.size }, 'cache invalidation failed; will retry');
    }
  };

  return {
    amended(windows) {
      for (const w of windows) {
        if (pending.size >= maxPending) {
          dropped += 1;
          continue;
        }
        pending.add(generationKey(deps.prefix, w, w.start));
      }
      if (dropped > 0) {
        deps.bumps.inc({ outcome: 'dropped' }, dropped);
        deps.log.error(
          { dropped },
          'cache invalidations dropped (Redis away too long); answers stale up to their TTL',
        );
        dropped = 0;
      }
    },
    flush() {
      // One flush at a time; a call during one waits for it and then flushes what arrived since.
      const run = (flushing ?? Promise.resolve()).then(() => (pending.size === 0 ? undefined : bump()));
      flushing = run;
      return run;
    },
  };
}
