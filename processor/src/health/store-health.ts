// Whether the processor's stores take its writes, for /readyz, metrics and the log. A batch stopped
// by an outage (Redis full, loading or away; PostgreSQL away) waits and is retried (guarantee 2:
// nothing lost or counted twice); meanwhile the processor says so, naming the cause, once: one log
// line when a stall starts, a reminder at most every `remindMs`, one when writes land again.

import type { Logger } from '@sluice/shared/log';
import type { FailureKind, OutageCause } from '../commit/failure-kind.ts';
import { printable } from '../commit/failure-kind.ts';
import type { ProcessorMetrics } from './metrics.ts';

export type StoreName = 'postgres' | 'redis';

export interface Stall {
  readonly store: StoreName;
  readonly cause: OutageCause;
  readonly reason: string;
  readonly since: number;
}

export interface StoreHealth {
  /** A batch (or an idle advance) stopped by a store outage. */
  refused(failure: FailureKind & { kind: 'outage' }): void;
  /** A commit landed in both stores: whatever stalled is over. */
  committed(): void;
  /** The stalls in force (none: ready). */
  stalls(): Stall[];
}

export interface StoreHealthOptions {
  readonly log: Logger;
  readonly metrics: Pick<ProcessorMetrics, 'storeRefusals' | 'stalled'>;
  readonly now: () => number;
  readonly remindMs?: number;
}

export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const { log, metrics, now } = options;
  const remindMs = options.remindMs ?? 60_000;
  const current = new Map<StoreName, Stall & { lastLog: number; refusals: number }>();
  return {
    refused(failure) {
      const store: StoreName = failure.step === 'sink' ? 'postgres' : 'redis';
      const at = now();
      metrics.storeRefusals.inc({ store, cause: failure.cause });
      const reason = printable(failure.reason, 300);
      const stall = current.get(store);
      if (stall === undefined || stall.cause !== failure.cause) {
        if (stall !== undefined) metrics.stalled.set({ store, cause: stall.cause }, 0);
        current.set(store, { store, cause: failure.cause, reason, since: at, lastLog: at, refusals: 1 });
        metrics.stalled.set({ store, cause: failure.cause }, 1);
        log.error(
          { store, cause: failure.cause, step: failure.step, reason },
          `${store} refuses the processor's writes (${failure.cause}): batches wait and retry until it takes them`,
        );
        return;
      }
      stall.refusals += 1;
      if (at - stall.lastLog < remindMs) return;
      stall.lastLog = at;
      log.error(
        { store, cause: stall.cause, reason, refusals: stall.refusals, stalledMs: at - stall.since },
        `${store} still refuses the processor's writes (${stall.cause})`,
      );
    },
    committed() {
      if (current.size === 0) return;
      for (const stall of current.values()) {
        metrics.stalled.set({ store: stall.store, cause: stall.cause }, 0);
        log.warn(
          {
            store: stall.store,
            cause: stall.cause,
            refusals: stall.refusals,
            stalledMs: now() - stall.since,
          },
          `${stall.store} takes the processor's writes again`,
        );
      }
      current.clear();
    },
    stalls: () =>
      [...current.values()].map(({ store, cause, reason, since }) => ({ store, cause, reason, since })),
  };
}
