// A Lua script run by its SHA, and by its source when the server answers NOSCRIPT (it restarted,
// was wiped, or is a cluster node that never saw it: EVAL caches it there). The SHA is computed
// here, not asked of a server, so in a cluster it is the same on every node and the command goes
// to the node of its keys' slot. Used for the dedup claims, the window state commits, admission
// and the webhook delivery ledger.

import { createHash } from 'node:crypto';
import type { RedisClient } from './client.ts';

export type RunScript = (
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
) => Promise<unknown>;

export function redisScript(redis: RedisClient, source: string): RunScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys, args) => {
    // One array, not spread arguments: a batch of sessions can pass tens of thousands of values.
    // Buffers go as they are (binary arguments); numbers as their text.
    const values = [...keys, ...args.map((a) => (Buffer.isBuffer(a) ? a : String(a)))];
    try {
      return await redis.evalsha(sha, keys.length, values);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return redis.eval(source, keys.length, values);
    }
  };
}
