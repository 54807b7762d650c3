// A throw-away redis-server on a free loopback port, without persistence, for tests that fill or
// break a Redis (a full state store, an evicting cache) without touching the stack's instances.

import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { waitFor } from './harness.ts';
import { freePort } from './services.ts';

export interface ThrowawayRedis {
  readonly url: string;
  /** A client of it that reconnects quietly; closed by `stop`. */
  readonly client: Redis;
  stop(): void;
}

/** `config` is redis-server's own flags, for example `['--maxmemory-policy', 'noeviction']`. */
export async function throwawayRedis(config: readonly string[]): Promise<ThrowawayRedis> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...config],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => {});
  await waitFor(async () => ((await client.ping().catch(() => '')) === 'PONG' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'a throw-away redis-server',
  });
  return {
    url,
    client,
    stop() {
      client.disconnect();
      server.kill('SIGKILL');
    },
  };
}
