// When a delivery was first received (issue 22, item 3: a redelivery is counted once). Dedup in
// the processor finds a copy by its id within the bucket of its event time (processor/src/dedup.ts),
// so every copy of a delivery must carry the same event time: the first copy's receive time,
// remembered here per source and delivery id for the dedup horizon. Redeliveries days later
// (Stripe retries for 3 days; GitHub's are by hand) are then duplicates of the first in its window.
// Bounded: one ~80-byte key per verified delivery (only a secret holder can make one), expiring
// after the horizon. Node only (ioredis).

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisScript } from '../redis-script.ts';

// KEYS[1]: the delivery's key. ARGV: this receive time (ms), the horizon (ms). Answer: the first
// receive time, set now when this is the first copy.
const FIRST_SEEN_SCRIPT = `
local first = redis.call('GET', KEYS[1])
if first then return first end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;

export interface DeliveryLedger {
  /**
   * The first receive time of this source's delivery `deliveryId` (now, for a first copy),
   * remembered for `horizonMs` (the target stream's dedup horizon).
   */
  firstSeen(sourceId: string, deliveryId: string, nowMs: number, horizonMs: number): Promise<number>;
}

export function deliveryLedger(redis: Redis, options: { prefix: string }): DeliveryLedger {
  const run = redisScript(redis, FIRST_SEEN_SCRIPT);
  return {
    async firstSeen(sourceId, deliveryId, nowMs, horizonMs) {
      // Hashed: the delivery id is the sender's text, of any length within the event id's bound.
      const digest = createHash('sha256').update(deliveryId).digest('base64url').slice(0, 22);
      const answer = await run([`${options.prefix}wh:${sourceId}:${digest}`], [nowMs, horizonMs]);
      const first = Number(answer);
      return Number.isFinite(first) ? first : nowMs;
    },
  };
}
