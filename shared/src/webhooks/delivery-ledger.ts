// When a delivery was first received (issue 22, item 3: a redelivery is counted once). Dedup in
// the processor finds a copy by its id within the bucket of its event time (processor/src/stores/dedup-claims.ts),
// so every copy of a delivery must carry the same event time: the first copy's receive time,
// remembered here per source and delivery id for the dedup horizon. Redeliveries days later
// (Stripe retries for 3 days; GitHub's are by hand) are then duplicates of the first in its window.
// Bounded: one ~80-byte key per verified delivery (only a secret holder can make one), expiring
// after the horizon. Node only (ioredis).

import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/client.ts';
import { redisScript } from '../redis/script.ts';

// KEYS[1]: the delivery's key. ARGV: this receive time (ms), the horizon (ms). Answer: {the first
// receive time, 1 when this call recorded it (this is the first copy) else 0}.
const FIRST_SEEN_SCRIPT = `
local first = redis.call('GET', KEYS[1])
if first then return {first, 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {ARGV[1], 1}
`;

// KEYS[1]: the delivery's key. ARGV[1]: the receive time this attempt set. Deletes the entry only
// if it is still that one (a concurrent copy that set it stays).
const FORGET_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

export interface DeliveryLedger {
  /**
   * The first receive time of this source's delivery `deliveryId` (now, for a first copy, which
   * this call recorded: `recorded`), remembered for `horizonMs` (the stream's dedup horizon).
   */
  firstSeen(sourceId: string, deliveryId: string, nowMs: number, horizonMs: number): Promise<FirstSeen>;
  /**
   * Forgets a first copy that was not accepted (refused, or not taken by Kafka), recorded at
   * `firstSeenMs` by this very attempt: the provider's retry is then a first copy at its own
   * receive time (guarantee 1, not "late"). A copy recorded by another attempt stays.
   */
  forget(sourceId: string, deliveryId: string, firstSeenMs: number): Promise<void>;
}

export interface FirstSeen {
  readonly firstSeenMs: number;
  /** This call recorded it: the first copy. */
  readonly recorded: boolean;
}

export function deliveryLedger(redis: RedisClient, options: { prefix: string }): DeliveryLedger {
  const run = redisScript(redis, FIRST_SEEN_SCRIPT);
  const forget = redisScript(redis, FORGET_SCRIPT);
  // Hashed: the delivery id is the sender's text, of any length within the event id's bound.
  const keyOf = (sourceId: string, deliveryId: string) =>
    `${options.prefix}wh:${sourceId}:${createHash('sha256').update(deliveryId).digest('base64url').slice(0, 22)}`;
  return {
    async firstSeen(sourceId, deliveryId, nowMs, horizonMs) {
      const answer = await run([keyOf(sourceId, deliveryId)], [nowMs, horizonMs]);
      const [first, recorded] = Array.isArray(answer) ? answer : [];
      const firstSeenMs = Number(first);
      return {
        firstSeenMs: Number.isFinite(firstSeenMs) ? firstSeenMs : nowMs,
        recorded: Number(recorded) === 1,
      };
    },
    async forget(sourceId, deliveryId, firstSeenMs) {
      await forget([keyOf(sourceId, deliveryId)], [firstSeenMs]);
    },
  };
}
