// A Lua script run by its SHA: loaded once, and again when Redis answers NOSCRIPT (it restarted or
// was wiped and forgot its script cache). Used for the dedup claims and the window state commits.

import type { Redis } from 'ioredis';

export type RunScript = (
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
) => Promise<unknown>;

export function redisScript(redis: Redis, source: string): RunScript {
  let sha: string | undefined;
  const load = async () => String(await redis.script('LOAD', source));
  return async (keys, args) => {
    // One array, not spread arguments: a batch of sessions can pass tens of thousands of values.
    // Buffers go as they are (binary arguments); numbers as their text.
    const values = [...keys, ...args.map((a) => (Buffer.isBuffer(a) ? a : String(a)))];
    sha ??= await load();
    try {
      return await redis.evalsha(sha, keys.length, values);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      sha = await load();
      return redis.evalsha(sha, keys.length, values);
    }
  };
}
