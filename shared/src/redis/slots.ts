// Multi-key work split by Redis Cluster slot: a MULTI, pipeline or MGET whose keys span slots is
// refused by a cluster (CROSSSLOT), so it goes as one group per slot, each group still one
// round trip. On a single Redis every key is one group, so nothing changes there.

import calculateSlot from 'cluster-key-slot';
import type { RedisClient } from './client.ts';
import { isCluster } from './client.ts';

/** `items` grouped by the slot of their key, in first-seen order (one group on a single Redis). */
export function groupBySlot<T>(redis: RedisClient, items: readonly T[], keyOf: (item: T) => string): T[][] {
  if (!isCluster(redis)) return items.length === 0 ? [] : [[...items]];
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = calculateSlot(keyOf(item));
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [item]);
    else group.push(item);
  }
  return [...groups.values()];
}

/** MGET over keys of any slots: the values in the keys' order. */
export function mgetAnySlot(redis: RedisClient, keys: readonly string[]): Promise<(string | null)[]> {
  return acrossSlots(redis, keys, (group) => redis.mget(...group));
}

async function acrossSlots<V>(
  redis: RedisClient,
  keys: readonly string[],
  read: (group: string[]) => Promise<(V | null)[]>,
): Promise<(V | null)[]> {
  if (keys.length === 0) return [];
  if (!isCluster(redis)) return read([...keys]);
  const values = new Map<string, V | null>();
  await Promise.all(
    groupBySlot(redis, keys, (k) => k).map(async (group) => {
      const got = await read(group);
      for (const [i, key] of group.entries()) values.set(key, got[i] ?? null);
    }),
  );
  return keys.map((k) => values.get(k) ?? null);
}
