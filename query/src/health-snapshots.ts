// The live route's `health` events (?health=on) from one shared snapshot per (stream, tenant,
// operator or not): computed at most once per HEALTH_EVERY_MS however many connections ask, so
// the health reads stay a few queries per interval per tenant, not per connection (a live
// connection is admitted once, then asks every 5 s for as long as it stays).
//
// Bounded: at most maxEntries snapshots are kept; past that the oldest goes first (a Map keeps
// insertion order, and a recomputed snapshot is re-inserted). A computation in flight is shared
// too, so a burst of connections makes one read. A failed computation answers undefined (the
// caller skips that event) for the rest of its interval and is logged, at most once per interval
// across all snapshots with the count of the failures not logged (a database outage is one line
// every 5 s, not one per connection or per tenant).

import type { Logger } from '@sluice/shared/log';
import type { StreamDefinition } from '@sluice/shared/streams/define';

export type HealthOf = (stream: StreamDefinition, tenant: string, operator: boolean) => Promise<unknown>;

export interface HealthSnapshots {
  /** The snapshot for these, at most `everyMs` old; undefined when its computation failed. */
  get(stream: StreamDefinition, tenant: string, operator: boolean): Promise<unknown>;
  /** Snapshots held now (for tests and the bound). */
  size(): number;
}

export function healthSnapshots(options: {
  readonly compute: HealthOf;
  readonly everyMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
  readonly log: Logger;
}): HealthSnapshots {
  const held = new Map<string, { at: number; value: Promise<unknown> }>();
  let loggedAt = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  const failed = (error: unknown, stream: string, tenant: string) => {
    const at = options.now();
    if (at - loggedAt < options.everyMs) {
      unlogged += 1;
      return;
    }
    options.log.warn(
      { err: error, stream, tenant, failuresNotLogged: unlogged },
      'reading the stream health for live clients failed; their health events skip it',
    );
    loggedAt = at;
    unlogged = 0;
  };
  return {
    get(stream, tenant, operator) {
      const key = JSON.stringify([stream.name, tenant, operator]);
      const at = options.now();
      const entry = held.get(key);
      if (entry !== undefined && at - entry.at < options.everyMs) return entry.value;
      held.delete(key);
      while (held.size >= options.maxEntries) {
        const oldest = held.keys().next();
        if (oldest.done === true) break;
        held.delete(oldest.value);
      }
      const value = options.compute(stream, tenant, operator).catch((error: unknown) => {
        failed(error, stream.name, tenant);
        return undefined;
      });
      held.set(key, { at, value });
      return value;
    },
    size: () => held.size,
  };
}
