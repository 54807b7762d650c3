// Rate limits and quotas per key, in Redis, shared by every edge, ingest and query process
// (issue 21, item 4): events per second and requests per second by GCRA (one second of burst),
// and a tenant's events per UTC day. One Lua script judges all three at once, so a request is
// admitted whole or refused whole: nothing of a refused request is counted, nothing half-taken.
// Why a script and not a rate-limit package: rate-limiter-flexible and its kind limit one counter
// per call; a request here must pass two rates and a quota atomically or take from none of them.
//
// Usage (GET /v1/usage) counts events Kafka acknowledged, added by ingest after the ack, so it is
// exactly what was accepted. The quota compares it with what a request asks, so requests admitted
// at the same moment can overshoot a quota by what is in flight between admission and the ack.

import type { RedisClient } from '../redis/client.ts';
import type { RunScript } from '../redis/script.ts';
import { redisScript } from '../redis/script.ts';
import { groupBySlot } from '../redis/slots.ts';
import { createLeases } from './leases.ts';
import type { Principal } from './principal.ts';

// KEYS: events TAT, requests TAT, today's usage. ARGV: events rate (0: none), events asked,
// requests rate (0: none), requests asked, daily quota (0: none), ms to the end of the UTC day,
// events and requests to lease beside the ask (leases.ts).
// GCRA (as redis-cell): a key's theoretical arrival time (TAT, µs) moves on by 1/rate per unit;
// a request fits while TAT - now stays within one second. A request larger than a second's
// burst passes only when its bucket is full, then waits out its debt (never refused forever).
// A lease is taken only if the ask and the lease fit together; else the ask alone is judged.
// Time is Redis's own, one clock for every process. Answer: {allowed, retry ms, events left,
// events reset ms, requests left, requests reset ms, used today, events leased, requests leased}.
const ADMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst = 1000000
local function judge(key, rate, n, lease)
  if rate <= 0 then return true, 0, -1, 0, nil, 0 end
  local interval = burst / rate
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new = tat + (n + lease) * interval
  if lease > 0 and new - now > burst then
    lease = 0
    new = tat + n * interval
  end
  local fits = new - now <= burst or (tat == now and n > 0)
  if not fits then
    local retry = math.max(new - now - burst, 0)
    if n * interval > burst then retry = tat - now end
    return false, retry, math.floor((burst - (tat - now)) / interval), tat - now, nil, 0
  end
  local left = math.max(math.floor((burst - (new - now)) / interval), 0)
  return true, 0, left, new - now, new, lease
end
local evRate, evN, rqRate, rqN = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local quota, dayLeftMs = tonumber(ARGV[5]), tonumber(ARGV[6])
local evOk, evRetry, evLeft, evReset, evNew, evLease = judge(KEYS[1], evRate, evN, tonumber(ARGV[7]))
local rqOk, rqRetry, rqLeft, rqReset, rqNew, rqLease = judge(KEYS[2], rqRate, rqN, tonumber(ARGV[8]))
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
local quotaOk = quota <= 0 or evN == 0 or used + evN <= quota
local retry = math.max(evRetry, rqRetry)
if not quotaOk then retry = math.max(retry, dayLeftMs * 1000) end
if not (evOk and rqOk and quotaOk) then
  return {0, math.ceil(retry / 1000), evLeft, math.ceil(evReset / 1000), rqLeft, math.ceil(rqReset / 1000), used, 0, 0}
end
if evNew then redis.call('SET', KEYS[1], string.format('%.0f', evNew), 'PX', math.ceil((evNew - now) / 1000) + 1000) end
if rqNew then redis.call('SET', KEYS[2], string.format('%.0f', rqNew), 'PX', math.ceil((rqNew - now) / 1000) + 1000) end
return {1, 0, evLeft, math.ceil(evReset / 1000), rqLeft, math.ceil(rqReset / 1000), used, evLease, rqLease}
`;

export interface AdmissionAsk {
  readonly events: number;
  readonly requests: number;
}

export interface AdmissionVerdict {
  readonly allowed: boolean;
  /** When refused: ms until the same request would be admitted. */
  readonly retryAfterMs: number;
  /** IETF RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-headers). */
  readonly headers: Readonly<Record<string, string>>;
  /** Which limit refused it, for the error message: 'events', 'requests' or 'daily'. */
  readonly refusedBy?: 'events' | 'requests' | 'daily';
}

export interface Usage {
  readonly tenant: string;
  /** The UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly events: number;
  readonly quota: number | null;
  readonly remaining: number | null;
  readonly resetsAt: string;
}

export interface Admission {
  /**
   * Judges a request against its key's limits; a key without limits is admitted without Redis,
   * and with `leaseMs` a busy key's requests mostly from its lease (leases.ts), without Redis too.
   */
  admit(principal: Principal, ask: AdmissionAsk): Promise<AdmissionVerdict>;
  /**
   * Admits at once, without I/O, what needs no Redis (no limits, or a lease that covers the ask);
   * undefined when only `admit` can judge. Never refuses.
   */
  admitNow(principal: Principal, ask: AdmissionAsk): AdmissionVerdict | undefined;
  /**
   * Adds events Kafka acknowledged to their tenants' usage today: at once (one round trip), or,
   * with `usageFlushMs`, into a tally that one round trip adds every `usageFlushMs`.
   */
  countAccepted(byTenant: ReadonlyMap<string, number>): Promise<void>;
  usage(principal: Principal): Promise<Usage>;
  /** Adds what the tally holds (with `usageFlushMs`); a drain calls it before closing Redis. */
  close(): Promise<void>;
}

export interface AdmissionOptions {
  readonly prefix: string;
  readonly now?: () => number;
  /**
   * Tally accepted events in memory and add them every this many ms: one Redis round trip per
   * interval instead of per request (a tenth of auth's cost on the intake path in bench e2e).
   * The price: usage lags by up to this long, and a crash loses at most this long of usage, never
   * an event; a quota may be overshot by what arrives meanwhile.
   */
  readonly usageFlushMs?: number;
  /** Lease a busy key's budget for this long (leases.ts); none without it: every ask to Redis. */
  readonly leaseMs?: number;
  readonly onError?: (error: unknown) => void;
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
// One hash tag a tenant (braces): a tenant's keys stay in one Redis Cluster slot, one script.
const usageKey = (prefix: string, tenant: string, day: string) => `${prefix}usage:{${tenant}}:${day}`;
const rateKey = (prefix: string, p: Principal, kind: 'ev' | 'rq') =>
  `${prefix}rl:{${p.tenant}}:${p.keyId}:${kind}`;

/** The IETF draft's fields: each policy's quota (q) over its window (w, s); remaining (r), reset (t, s). */
function rateHeaders(
  p: Principal,
  left: { events: number; eventsReset: number; requests: number; requestsReset: number; used: number },
  dayLeftMs: number,
): Record<string, string> {
  const policies: string[] = [];
  const state: string[] = [];
  const { eventsPerSecond, requestsPerSecond, dailyEvents } = p.limits;
  if (eventsPerSecond !== undefined) {
    policies.push(`"events";q=${eventsPerSecond};w=1`);
    state.push(`"events";r=${Math.max(0, left.events)};t=${Math.ceil(left.eventsReset / 1000)}`);
  }
  if (requestsPerSecond !== undefined) {
    policies.push(`"requests";q=${requestsPerSecond};w=1`);
    state.push(`"requests";r=${Math.max(0, left.requests)};t=${Math.ceil(left.requestsReset / 1000)}`);
  }
  if (dailyEvents !== undefined) {
    policies.push(`"daily";q=${dailyEvents};w=86400`);
    state.push(`"daily";r=${Math.max(0, dailyEvents - left.used)};t=${Math.ceil(dayLeftMs / 1000)}`);
  }
  return policies.length === 0
    ? {}
    : { 'RateLimit-Policy': policies.join(', '), RateLimit: state.join(', ') };
}

export function createAdmission(redis: RedisClient, options: AdmissionOptions): Admission {
  const run: RunScript = redisScript(redis, ADMIT_SCRIPT);
  const now = options.now ?? Date.now;
  const prefix = options.prefix;
  const add = async (byTenant: ReadonlyMap<string, number>) => {
    if (byTenant.size === 0) return;
    const day = dayOf(now());
    // One pipeline per Redis Cluster slot: tenants of a batch may live on different nodes.
    const tallies = [...byTenant].map(([tenant, n]) => ({ key: usageKey(prefix, tenant, day), n }));
    await Promise.all(
      groupBySlot(redis, tallies, (t) => t.key).map((group) => {
        const pipeline = redis.pipeline();
        for (const { key, n } of group) {
          pipeline.incrby(key, n);
          // Kept past its day, so a usage query near midnight in any zone still finds it.
          pipeline.pexpire(key, 3 * DAY_MS);
        }
        return pipeline.exec();
      }),
    );
  };
  // The tally (usageFlushMs): bounded by the tenants that sent in one interval.
  let tally = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = async () => {
    timer = undefined;
    const due = tally;
    tally = new Map();
    await add(due).catch((error: unknown) => options.onError?.(error));
  };
  const leases = options.leaseMs === undefined ? undefined : createLeases({ leaseMs: options.leaseMs, now });
  const unlimited = (p: Principal) =>
    p.limits.eventsPerSecond === undefined &&
    p.limits.requestsPerSecond === undefined &&
    p.limits.dailyEvents === undefined;
  const admitNow = (p: Principal, ask: AdmissionAsk): AdmissionVerdict | undefined => {
    if (unlimited(p)) return { allowed: true, retryAfterMs: 0, headers: {} };
    const snapshot = leases?.take(p, ask);
    if (snapshot === undefined) return undefined;
    const at = now();
    return { allowed: true, retryAfterMs: 0, headers: rateHeaders(p, snapshot, DAY_MS - (at % DAY_MS)) };
  };
  return {
    admitNow,
    async admit(p, ask) {
      const local = admitNow(p, ask);
      if (local !== undefined) return local;
      const { eventsPerSecond, requestsPerSecond, dailyEvents } = p.limits;
      const at = now();
      const day = dayOf(at);
      const dayLeftMs = DAY_MS - (at % DAY_MS);
      const lease = leases?.want(p) ?? { events: 0, requests: 0 };
      const answer = (await run(
        [rateKey(prefix, p, 'ev'), rateKey(prefix, p, 'rq'), usageKey(prefix, p.tenant, day)],
        [
          eventsPerSecond ?? 0,
          ask.events,
          requestsPerSecond ?? 0,
          ask.requests,
          dailyEvents ?? 0,
          dayLeftMs,
          lease.events,
          lease.requests,
        ],
      )) as number[];
      const [
        allowed = 0,
        retryMs = 0,
        events = 0,
        eventsReset = 0,
        requests = 0,
        requestsReset = 0,
        used = 0,
        eventsLeased = 0,
        requestsLeased = 0,
      ] = answer.map(Number);
      const snapshot = { events, eventsReset, requests, requestsReset, used };
      if (allowed === 1) {
        leases?.grant(p, ask, { events: eventsLeased, requests: requestsLeased }, snapshot);
        // The leased units are this process's to spend: counted as remaining.
        const headers = rateHeaders(
          p,
          { ...snapshot, events: events + eventsLeased, requests: requests + requestsLeased },
          dayLeftMs,
        );
        return { allowed: true, retryAfterMs: 0, headers };
      }
      const headers = rateHeaders(p, snapshot, dayLeftMs);
      const refusedBy =
        dailyEvents !== undefined && ask.events > 0 && used + ask.events > dailyEvents
          ? 'daily'
          : requestsPerSecond !== undefined && requests < ask.requests
            ? 'requests'
            : 'events';
      return { allowed: false, retryAfterMs: Math.max(retryMs, 1), headers, refusedBy };
    },
    async countAccepted(byTenant) {
      if (options.usageFlushMs === undefined) return add(byTenant);
      for (const [tenant, n] of byTenant) tally.set(tenant, (tally.get(tenant) ?? 0) + n);
      timer ??= setTimeout(() => void flush(), options.usageFlushMs);
    },
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      await flush();
    },
    async usage(p) {
      const at = now();
      const day = dayOf(at);
      const events = Number((await redis.get(usageKey(prefix, p.tenant, day))) ?? '0');
      const quota = p.limits.dailyEvents ?? null;
      return {
        tenant: p.tenant,
        day,
        events,
        quota,
        remaining: quota === null ? null : Math.max(0, quota - events),
        resetsAt: new Date(at - (at % DAY_MS) + DAY_MS).toISOString(),
      };
    },
  };
}
