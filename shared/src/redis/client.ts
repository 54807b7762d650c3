// One way to reach a Redis: a single server (`redis://host:port`) or a Redis Cluster
// (`redis+cluster://host:port,host:port,...`, any of its nodes; the client learns the rest). Every
// service takes the same SLUICE_REDIS_URL, so moving to a cluster is a change of URL, not of code.
//
// In a cluster a command runs on the node that holds its keys' slot: multi-key commands (a Lua
// script, MULTI, MGET) need their keys in one slot. The processor's keys of one partition share a
// {hash tag}, so its scripts never cross slots; what spans tenants or streams (cache generation
// bumps, live feed appends, usage tallies, generation reads) goes one group per slot (slots.ts).

import { readFileSync } from 'node:fs';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { Cluster, Redis } from 'ioredis';
import { parseRedisTarget } from './target.ts';
// Before any client exists: ioredis reads it on every command.
import '../telemetry/tracing-channel.ts';

export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * A client for `url` with `options` (the per-connection ones: retries, offline queue). A cluster
 * client reads and writes masters only: a replica may lag its master, and the processor's state
 * must be read where it was written.
 */
/**
 * A client for SLUICE_REDIS_URL. `caFile` (SLUICE_REDIS_CA_FILE): the PEM CAs a rediss:// server's
 * certificate is checked against, for a managed Redis signed by its provider's own CA; without it a
 * rediss:// URL checks against the system's roots. The user and password come from the URL (ACL).
 */
export function createRedis(url: string, options: RedisOptions = {}, caFile?: string): RedisClient {
  const target = parseRedisTarget(url);
  if (target instanceof Error) throw target;
  if (caFile !== undefined)
    options = { ...options, tls: { ...options.tls, ca: readFileSync(caFile, 'utf8') } };
  if (target.kind === 'single') return new Redis(url, options);
  const clusterOptions: ClusterOptions = {
    redisOptions: options,
    scaleReads: 'master',
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    // A failover takes a few seconds: retry a MOVED/CLUSTERDOWN answer for up to ~5 s, then fail
    // the command (the caller retries its whole batch; nothing is acknowledged before it lands).
    maxRedirections: 16,
    retryDelayOnClusterDown: 300,
    retryDelayOnFailover: 300,
    retryDelayOnTryAgain: 300,
    slotsRefreshTimeout: 2_000,
  };
  return new Cluster([...target.nodes], clusterOptions);
}

/** Another connection to the same Redis (a subscriber, a blocking reader) with `options`. */
export function duplicateRedis(redis: RedisClient, options: RedisOptions = {}): RedisClient {
  if (!isCluster(redis)) return redis.duplicate(options);
  return redis.duplicate(undefined, {
    redisOptions: { ...redis.options.redisOptions, ...options },
    enableOfflineQueue: options.enableOfflineQueue ?? redis.options.enableOfflineQueue,
  });
}

/** Every key matching `pattern`, in pages, across every master of a cluster. */
export async function* scanKeys(redis: RedisClient, pattern: string): AsyncGenerator<string[]> {
  const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
