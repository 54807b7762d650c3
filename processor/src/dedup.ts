// Dedup by event id within a horizon (guarantee 2: a client that resends an event is not counted
// twice, whichever partition or worker sees the copy). The first copy of an id to reach a window
// claims the id in Redis with its own Kafka coordinates (topic:partition:offset), for the stream's
// dedup horizon. A later copy finds another record's coordinates: a duplicate. The claim is made
// before the batch commits, so a batch replayed after a crash finds its own coordinates and counts
// again what it never committed, rather than losing it as a "duplicate" of itself.
// One Lua script per batch: every claim is atomic, and the batch costs one round trip.

import type { Redis } from 'ioredis';

export interface DedupClaim {
  readonly tenant: string;
  readonly id: string;
  /** `topic:partition:offset` of the record claiming the id. */
  readonly coordinates: string;
}

export interface Dedup {
  /** True for each claim that is the id's first copy (or this same record again), in order. */
  claim(stream: string, horizonMs: number, claims: readonly DedupClaim[]): Promise<boolean[]>;
}

const CLAIM_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local mine = ARGV[i + 1]
  local prev = redis.call('SET', key, mine, 'NX', 'GET', 'PX', ARGV[1])
  if (not prev) or prev == mine then out[i] = 1 else out[i] = 0 end
end
return out
`;

type ClaimCommand = (keysAndArgs: (string | number)[], count: number) => Promise<unknown>;

export interface DedupOptions {
  readonly redis: Redis;
  /** Redis key prefix; the topic prefix goes in too, so isolated pipelines never share ids. */
  readonly prefix: string;
}

export function createDedup(options: DedupOptions): Dedup {
  let sha: string | undefined;
  const run: ClaimCommand = async (keysAndArgs, count) => {
    sha ??= String(await options.redis.script('LOAD', CLAIM_SCRIPT));
    try {
      return await options.redis.evalsha(sha, count, ...keysAndArgs);
    } catch (error) {
      // Redis restarted (or was wiped) and forgot the script: load it again once.
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      sha = String(await options.redis.script('LOAD', CLAIM_SCRIPT));
      return options.redis.evalsha(sha, count, ...keysAndArgs);
    }
  };
  return {
    async claim(stream, horizonMs, claims) {
      if (claims.length === 0) return [];
      // The hash tag keeps one stream's ids in one Redis Cluster slot, as one script needs.
      const keys = claims.map((c) => `${options.prefix}{${stream}}:${c.tenant}:${c.id}`);
      const result = await run([...keys, horizonMs, ...claims.map((c) => c.coordinates)], keys.length);
      if (!Array.isArray(result) || result.length !== claims.length)
        throw new Error('dedup script answered an unexpected shape');
      return result.map((value) => value === 1);
    },
  };
}
