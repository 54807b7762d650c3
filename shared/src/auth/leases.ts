// Leases of a key's rate budget, so a busy key is not one Redis round trip per request (bench:
// a round trip per cached read quadrupled the query service's CPU a request). When a request of a
// limited key goes to Redis, the process asks beside it for as many more units as the key asked of
// this process in the last lease period (at most what half a lease period of its per-second rate allows), taken from the
// same shared GCRA budget only if both fit. The key's next requests spend them here, with no I/O,
// while they last and for at most `leaseMs`.
// INVARIANT (issue 21, item 4): the limit holds across every process. A leased unit was charged to
// the shared budget when it was leased, so no process ever admits more than the budget granted;
// a unit a process leaves unspent simply expires (other processes may be refused meanwhile: the
// price, bounded by a quarter of a second's rate per process). Units are spent within `leaseMs`
// of the latest grant, so a second's admissions exceed the rate by no more than one lease. A lease only ever admits a whole
// ask, and never refuses: a refusal is always Redis's judgement.

import type { Lru } from '../lru.ts';
import { lru } from '../lru.ts';
import type { AdmissionAsk } from './admission.ts';
import type { Principal } from './principal.ts';

/** What Redis last said of a key's budgets, for the RateLimit headers of what a lease admits. */
export interface BudgetSnapshot {
  readonly events: number;
  readonly eventsReset: number;
  readonly requests: number;
  readonly requestsReset: number;
  readonly used: number;
}

interface Lot {
  tokens: number;
  expires: number;
  /** Units asked of this process in the current lease period, and in the one before. */
  demand: number;
  lastDemand: number;
  periodStart: number;
}

interface KeyLease {
  readonly ev: Lot;
  readonly rq: Lot;
  /** Events the tenant's daily quota still allows, as of the last answer, less what leases admitted. */
  quotaHeadroom: number | undefined;
  snapshot: BudgetSnapshot;
}

export interface Leases {
  /**
   * Admits the ask from the key's leases when they cover all of it (and its quota headroom does),
   * spending them; undefined when Redis must judge it. Either way the ask counts as demand.
   */
  take(p: Principal, ask: AdmissionAsk): BudgetSnapshot | undefined;
  /** Units to lease beside an ask that goes to Redis. */
  want(p: Principal): { readonly events: number; readonly requests: number };
  /** Keeps what Redis granted beside an admitted ask. */
  grant(
    p: Principal,
    ask: AdmissionAsk,
    granted: { readonly events: number; readonly requests: number },
    snapshot: BudgetSnapshot,
  ): void;
}

const lot = (at: number): Lot => ({ tokens: 0, expires: 0, demand: 0, lastDemand: 0, periodStart: at });

export function createLeases(options: { leaseMs: number; maxKeys?: number; now?: () => number }): Leases {
  const now = options.now ?? Date.now;
  // Bounded (guarantee 5): keys are few, but never more than this many leases are held.
  const byKey: Lru<string, KeyLease> = lru(options.maxKeys ?? 10_000);
  const leaseOf = (p: Principal, at: number): KeyLease => {
    let lease = byKey.get(p.keyId);
    if (lease === undefined) {
      lease = {
        ev: lot(at),
        rq: lot(at),
        quotaHeadroom: undefined,
        snapshot: { events: 0, eventsReset: 0, requests: 0, requestsReset: 0, used: 0 },
      };
      byKey.set(p.keyId, lease);
    }
    return lease;
  };
  const roll = (l: Lot, at: number, asked: number) => {
    if (at - l.periodStart >= options.leaseMs) {
      // Demand of the period just ended; none at all if a whole period passed without a request.
      l.lastDemand = at - l.periodStart >= 2 * options.leaseMs ? 0 : l.demand;
      l.demand = 0;
      l.periodStart = at;
    }
    l.demand += asked;
    if (l.expires <= at) l.tokens = 0;
  };
  const covers = (l: Lot, rate: number | undefined, asked: number) =>
    rate === undefined || asked === 0 || l.tokens >= asked;
  const size = (l: Lot, rate: number | undefined) =>
    rate === undefined
      ? 0
      : Math.min(Math.max(l.lastDemand, l.demand), Math.floor((rate * options.leaseMs) / 1000 / 2));
  return {
    take(p, ask) {
      const at = now();
      const lease = leaseOf(p, at);
      roll(lease.ev, at, ask.events);
      roll(lease.rq, at, ask.requests);
      const { eventsPerSecond, requestsPerSecond, dailyEvents } = p.limits;
      if (
        !covers(lease.ev, eventsPerSecond, ask.events) ||
        !covers(lease.rq, requestsPerSecond, ask.requests)
      )
        return undefined;
      if (dailyEvents !== undefined && ask.events > 0 && (lease.quotaHeadroom ?? 0) < ask.events)
        return undefined;
      if (eventsPerSecond !== undefined) lease.ev.tokens -= ask.events;
      if (requestsPerSecond !== undefined) lease.rq.tokens -= ask.requests;
      if (lease.quotaHeadroom !== undefined) lease.quotaHeadroom -= ask.events;
      return {
        ...lease.snapshot,
        events: lease.snapshot.events + lease.ev.tokens,
        requests: lease.snapshot.requests + lease.rq.tokens,
      };
    },
    want(p) {
      const lease = leaseOf(p, now());
      return {
        events: size(lease.ev, p.limits.eventsPerSecond),
        requests: size(lease.rq, p.limits.requestsPerSecond),
      };
    },
    grant(p, ask, granted, snapshot) {
      const at = now();
      const lease = leaseOf(p, at);
      // Added to what is left (asks in flight together each bring a lease: all were charged).
      if (lease.ev.expires <= at) lease.ev.tokens = 0;
      if (lease.rq.expires <= at) lease.rq.tokens = 0;
      lease.ev.tokens += granted.events;
      lease.rq.tokens += granted.requests;
      lease.ev.expires = at + options.leaseMs;
      lease.rq.expires = at + options.leaseMs;
      lease.snapshot = snapshot;
      const quota = p.limits.dailyEvents;
      lease.quotaHeadroom = quota === undefined ? undefined : quota - snapshot.used - ask.events;
    },
  };
}
