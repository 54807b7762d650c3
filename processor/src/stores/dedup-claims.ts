// Dedup by event id within a horizon (guarantee 2: a client that resends an event is not counted
// twice, whichever worker sees the copy). Copies of an event carry the same group-by key, so they
// land on the same partition, and the same event time. The first record of an id to reach a window
// claims it with its own offset. A later copy finds another offset: a duplicate. The claim is made
// before the batch commits, so a batch replayed after a crash finds its own offsets and counts again
// what it never committed, instead of losing it as a "duplicate" of itself. Each write refreshes
// its hash's TTL to the horizon: a copy arriving within the horizon after the original was counted
// is always recognised. One Lua script per batch: the claims are atomic, one round trip.
//
// Compact claims (issue 20 item 7: Redis must not be filled by traffic): a claim is the first 8
// bytes of the SHA-1 of its id (binary field) and its offset (an integer string, which Redis keeps
// as an integer), in small hashes that Redis keeps in its listpack encoding (up to
// hash-max-listpack-entries, 512 by default, of at most 64 bytes): one per stream, partition,
// tenant, 10 s of event time and one of 32 sub-buckets (another byte of the same hash), so ~100
// claims a hash at the seed's 1,000 events/s. ~83 B a claim as one id field in an hourly hash,
// ~19 B now (./sluice bench dedup). Two distinct ids are taken for copies only if they share the
// bucket and all 64 bits: about n²/2⁶⁵ for n ids of one bucket, ~10⁻⁹ a day at 1,000 events/s.
// Claims of the earlier layout (the id as field, one hash per hour) are still found while they
// live (one horizon after an upgrade): a copy of an event claimed before it stays a duplicate.

import { hash } from 'node:crypto';
import { SpanKind, trace } from '@opentelemetry/api';
import type { RedisClient } from '@sluice/shared/redis/client';
import { redisScript } from '@sluice/shared/redis/script';
import { inSpan } from '@sluice/shared/telemetry/spans';

const tracer = trace.getTracer('sluice-processor');

export interface DedupClaim {
  readonly tenant: string;
  readonly id: string;
  /** Event time (ms): picks the hour bucket, the same for every copy of an event. */
  readonly time: number;
  /** The claiming record's offset in its partition. */
  readonly offset: bigint;
}

/**
 * What identifies an event within its tenant (the claim's bucket): its id, and its CloudEvents
 * `source` when it has one, as the CloudEvents spec makes source + id an event's identity, so two
 * sources' `order-1` are two events (issue 21, item 3). Length-prefixed, so no pair of source and
 * id spells another's. An event without a source keeps its bare id: claims made before this
 * still find their copies.
 */
export function dedupIdentity(event: { readonly id: string; readonly source?: string }): string {
  return event.source === undefined ? event.id : `${event.source.length}:${event.source}\u0000${event.id}`;
}

export interface Dedup {
  /** For each claim in order: true when it is the id's first copy, or this same record again. */
  claim(
    stream: string,
    partition: number,
    horizonMs: number,
    claims: readonly DedupClaim[],
  ): Promise<boolean[]>;
}

// KEYS: the distinct bucket hashes, then the earlier layout's hour hashes. ARGV[1]: ttl; ARGV[2]:
// the claims packed, 10 bytes each: bucket index (2 bytes, big-endian) and the id's 8-byte hash;
// ARGV[3]: their offsets, space-separated; ARGV[4]: how many hour hashes; ARGV[5]: '' or, per
// claim, `[hour hash index, id, ...]` as JSON. Binary fields and one argument per kind, not three
// per claim: building and encoding tens of thousands of arguments was most of a claim's client CPU.
// Redis is asked once per bucket (HMGET, then one HSET of the new claims; in chunks, as Lua's unpack
// is bounded). The answer is one string, '1' or '0' per claim in order; or 'L' (nothing written)
// when an hour hash of the earlier layout exists and the ids were not sent: the client sends them.
const CLAIM_SCRIPT = `
local packed, hours = ARGV[2], tonumber(ARGV[4])
local buckets = #KEYS - hours
if ARGV[5] == '' then
  for h = 1, hours do
    if redis.call('EXISTS', KEYS[buckets + h]) == 1 then return 'L' end
  end
end
local CHUNK = 1000
local n = #packed / 10
local bucketOf, fieldOf, offsetOf = {}, {}, {}
local k = 0
for offset in string.gmatch(ARGV[3], '%d+') do
  k = k + 1
  offsetOf[k] = offset
end
local asked, held, new = {}, {}, {}
for b = 1, buckets do asked[b], held[b], new[b] = {}, {}, {} end
for i = 1, n do
  local at = (i - 1) * 10 + 1
  local hi, lo = string.byte(packed, at, at + 1)
  local b = hi * 256 + lo
  local field = string.sub(packed, at + 2, at + 9)
  bucketOf[i], fieldOf[i] = b, field
  local list = asked[b]
  list[#list + 1] = field
end
for b = 1, buckets do
  local list = asked[b]
  for first = 1, #list, CHUNK do
    local last = math.min(first + CHUNK - 1, #list)
    local values = redis.call('HMGET', KEYS[b], unpack(list, first, last))
    for j = first, last do
      if values[j - first + 1] then held[b][list[j]] = values[j - first + 1] end
    end
  end
end
-- The earlier layout: an id found there is held by the offset found there.
local legacy = {}
if ARGV[5] ~= '' then
  local ids = cjson.decode(ARGV[5])
  for i = 1, n do
    local h, id = ids[2 * i - 1], ids[2 * i]
    if h > 0 then
      local value = redis.call('HGET', KEYS[buckets + h], id)
      if value then legacy[i] = value end
    end
  end
end
-- In order: an id no record holds is claimed by this one, and a later copy in this batch finds it.
local out = {}
for i = 1, n do
  local b, field, mine = bucketOf[i], fieldOf[i], offsetOf[i]
  local holder = held[b][field] or legacy[i]
  if holder == nil then
    held[b][field] = mine
    local list = new[b]
    list[#list + 1] = field
    list[#list + 1] = mine
    out[#out + 1] = '1'
  elseif holder == mine then
    out[#out + 1] = '1'
  else
    out[#out + 1] = '0'
  end
end
for b = 1, buckets do
  local list = new[b]
  for first = 1, #list, 2 * CHUNK do
    redis.call('HSET', KEYS[b], unpack(list, first, math.min(first + 2 * CHUNK - 1, #list)))
  end
  redis.call('PEXPIRE', KEYS[b], ARGV[1])
end
return table.concat(out)
`;

const HOUR_MS = 3_600_000;
/** Event time per bucket: copies share their event time, so they share their bucket. */
const SLOT_MS = 10_000;
/** Sub-buckets per slot: ~100 claims a hash at 1,000 events/s, ~500 (still listpack) at ~1,600/s a partition. */
const SUB_BUCKETS = 32;
const ONE = '1'.charCodeAt(0);

export interface DedupOptions {
  readonly redis: RedisClient;
  /** Redis key prefix; the topic prefix goes in too, so isolated pipelines never share ids. */
  readonly prefix: string;
}

/** The 8-byte claim of an id and its sub-bucket (another byte of the same hash). */
export function claimHash(id: string): { readonly field: Buffer; readonly sub: number } {
  const field = Buffer.alloc(8);
  return { field, sub: claimHashInto(id, field, 0) };
}

/** claimHash's field written into `out` at `at`, its sub-bucket returned: no view made per claim. */
function claimHashInto(id: string, out: Buffer, at: number): number {
  // Well-formed: a lone surrogate becomes U+FFFD, the bytes ioredis always sent for it.
  const digest = hash('sha1', id.toWellFormed(), 'buffer');
  // A copy of the first 8 bytes, not a subarray: on Bun a Buffer view per claim cost as much as
  // the SHA-1 itself.
  digest.copy(out, at, 0, 8);
  return (digest[8] ?? 0) % SUB_BUCKETS;
}

export function createDedup(options: DedupOptions): Dedup {
  const run = redisScript(options.redis, CLAIM_SCRIPT);
  /**
   * Hour hashes of the earlier layout found to exist, until they have surely expired (one horizon
   * after they were found: none is written any more): claims of their hours send their ids.
   */
  const legacyLive = new Map<string, number>();
  return {
    async claim(stream, partition, horizonMs, claims) {
      if (claims.length === 0) return [];
      const tag = `${options.prefix}{${stream}|${partition}}`;
      const buckets = new Map<string, number>();
      const hours = new Map<string, number>();
      const hourOf: number[] = new Array(claims.length);
      const packed = Buffer.allocUnsafe(claims.length * 10);
      const offsets: string[] = new Array(claims.length);
      const bySlot = new Map<string, (number | undefined)[]>();
      const slotIndexes = (slotKey: string) => {
        let indexes = bySlot.get(slotKey);
        if (indexes === undefined) {
          indexes = new Array<number | undefined>(SUB_BUCKETS);
          bySlot.set(slotKey, indexes);
        }
        return indexes;
      };
      let runTenant: string | undefined;
      let runSlot = Number.NaN;
      let runIndexes: (number | undefined)[] = [];
      let runHourTenant: string | undefined;
      let runHour = Number.NaN;
      let runHourIndex = 0;
      for (let i = 0; i < claims.length; i++) {
        const claim = claims[i];
        if (claim === undefined) continue;
        const sub = claimHashInto(claim.id, packed, i * 10 + 2);
        // A batch's claims are mostly of one tenant and slot: its bucket indexes are found once per
        // run of them, not a key built and hashed per claim.
        const slot = Math.floor(claim.time / SLOT_MS);
        if (claim.tenant !== runTenant || slot !== runSlot) {
          runTenant = claim.tenant;
          runSlot = slot;
          runIndexes = slotIndexes(`${tag}:${claim.tenant}:${slot.toString(36)}`);
        }
        let index = runIndexes[sub];
        if (index === undefined) {
          const key = `${tag}:${claim.tenant}:${slot.toString(36)}:${sub.toString(36)}`;
          index = buckets.get(key) ?? buckets.size + 1;
          buckets.set(key, index);
          runIndexes[sub] = index;
        }
        packed.writeUInt16BE(index, i * 10);
        offsets[i] = claim.offset.toString();
        const hourStart = Math.floor(claim.time / HOUR_MS) * HOUR_MS;
        if (hourStart !== runHour || claim.tenant !== runHourTenant) {
          const hour = `${tag}:${claim.tenant}:${hourStart}`;
          runHourIndex = hours.get(hour) ?? hours.size + 1;
          hours.set(hour, runHourIndex);
          runHour = hourStart;
          runHourTenant = claim.tenant;
        }
        hourOf[i] = runHourIndex;
      }
      const keys = [...buckets.keys(), ...hours.keys()];
      const ids = () => JSON.stringify(claims.flatMap((c, i) => [hourOf[i] ?? 0, c.id.toWellFormed()]));
      const now = Date.now();
      for (const [hour, until] of legacyLive) if (until < now) legacyLive.delete(hour);
      const attributes = {
        'db.system.name': 'redis',
        'db.operation.name': 'EVALSHA',
        'sluice.dedup.claims': claims.length,
      };
      const call = (legacyIds: string) =>
        inSpan(tracer, 'claim event ids', { kind: SpanKind.CLIENT, attributes }, () =>
          run(keys, [horizonMs, packed, offsets.join(' '), hours.size, legacyIds]),
        );
      const anyLive = [...hours.keys()].some((hour) => legacyLive.has(hour));
      let result = await call(anyLive ? ids() : '');
      if (result === 'L') {
        // The earlier layout's hashes of these hours exist (claims made before an upgrade).
        for (const hour of hours.keys()) legacyLive.set(hour, now + horizonMs);
        result = await call(ids());
      }
      if (typeof result !== 'string' || result.length !== claims.length)
        throw new Error('dedup script answered an unexpected shape');
      const firsts: boolean[] = new Array(claims.length);
      for (let i = 0; i < claims.length; i++) firsts[i] = result.charCodeAt(i) === ONE;
      return firsts;
    },
  };
}
