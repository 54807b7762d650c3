// What a worker holds for one partition it owns: where it is in the log, its watermark, and its
// open windows. This is a cache of the working state in Redis (and of the rows in PostgreSQL):
// every window's state is durable in both after each batch, so a new owner loads it from there.

import type { WindowStatus } from '@sluice/shared/db/schema';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { copyState } from '@sluice/shared/streams/aggregate';
import type { StreamDefinition } from '@sluice/shared/streams/define';

export interface OpenWindow {
  readonly tenant: string;
  readonly stream: string;
  /** The declared window's name, e.g. `1m`. */
  readonly window: string;
  readonly start: number;
  readonly end: number;
  readonly key: string;
  state: AggState;
  status: WindowStatus;
  version: number;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly stream: StreamDefinition;
  /** The epoch this worker claimed the partition with (0: not claimed yet); its commits carry it. */
  epoch: number;
  /** Next offset to apply, as committed in PostgreSQL; null when no batch was ever committed. */
  nextOffset: bigint | null;
  maxEventTime: number | null;
  watermark: number | null;
  /** Wall-clock time of the last record seen, for idle-partition watermark advance. */
  lastActivity: number;
  readonly windows: Map<string, OpenWindow>;
}

export function windowId(tenant: string, window: string, start: number, key: string): string {
  return `${tenant}\u0000${window}\u0000${start}\u0000${key}`;
}

/**
 * Window ids for one batch: each id is built once, and the same string is handed out again, so the
 * maps it keys hash it once (a fresh string per event was a tenth of planning's CPU). Lives for one
 * batch, so it holds at most the windows that batch touches.
 */
export function windowIdCache(): (tenant: string, window: string, start: number, key: string) => string {
  const byWindow = new Map<string, Map<string, Map<string, Map<number, string>>>>();
  return (tenant, window, start, key) => {
    const byStart = inner(inner(inner(byWindow, window), tenant), key);
    let id = byStart.get(start);
    if (id === undefined) {
      id = windowId(tenant, window, start, key);
      byStart.set(start, id);
    }
    return id;
  };
}

/** The map under `key`, created empty the first time. */
function inner<K, K2, V2>(outer: Map<K, Map<K2, V2>>, key: K): Map<K2, V2> {
  let map = outer.get(key);
  if (map === undefined) {
    map = new Map();
    outer.set(key, map);
  }
  return map;
}

export function copyWindow(window: OpenWindow): OpenWindow {
  return { ...window, state: copyState(window.state) };
}
