// A map that keeps the `max` most recently used entries (a Map's insertion order is its recency:
// a read moves the entry to the end, a write past the bound drops from the front). Every cache
// keyed by client input is one of these (guarantee 5: bounded memory under hostile input).

export interface Lru<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  readonly size: number;
}

export function lru<K, V>(max: number): Lru<K, V> {
  const entries = new Map<K, V>();
  return {
    get(key) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      entries.delete(key);
      entries.set(key, value);
      return value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      for (const oldest of entries.keys()) {
        if (entries.size <= max) break;
        entries.delete(oldest);
      }
    },
    get size() {
      return entries.size;
    },
  };
}
