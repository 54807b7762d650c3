// What a SLUICE_REDIS_URL names: one Redis server or the nodes of a Redis Cluster. Apart from the
// client (client.ts) so a config schema can check a URL without loading ioredis.

export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly { readonly host: string; readonly port: number }[] };

const CLUSTER_SCHEME = 'redis+cluster://';

/** Reads a SLUICE_REDIS_URL; an error names what is wrong with it. */
export function parseRedisTarget(url: string): RedisTarget | Error {
  if (!url.startsWith(CLUSTER_SCHEME)) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
        return new Error('expected redis://, rediss:// or redis+cluster://host:port,host:port');
      return { kind: 'single', url };
    } catch {
      return new Error('expected redis://, rediss:// or redis+cluster://host:port,host:port');
    }
  }
  const nodes: { host: string; port: number }[] = [];
  for (const part of url.slice(CLUSTER_SCHEME.length).replace(/\/$/, '').split(',')) {
    const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(part.trim());
    const port = Number(match?.[2]);
    if (match?.[1] === undefined || !(port >= 1 && port <= 65_535))
      return new Error(`redis+cluster:// node '${part}' is not host:port`);
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  return nodes.length > 0 ? { kind: 'cluster', nodes } : new Error('redis+cluster:// names no node');
}
