// Stage 3 of a batch: every read and claim the batch needs, before anything is planned. Windows its
// events fall in that the worker does not hold (settled ones, or never cached) come back from
// PostgreSQL, never from zero; stored sessions its events may join; and the dedup claims of the
// events about to count (guarantee 2: a copy of an id another record claimed counts nothing). What
// to ask for is decided purely (loadRequests); the partition's state is not changed here.

import type { OpenWindow, PartitionState } from '../partition-state.ts';
import { windowId } from '../partition-state.ts';
import type { Dedup, DedupClaim } from '../stores/dedup-claims.ts';
import { dedupIdentity } from '../stores/dedup-claims.ts';
import type { SessionLookup, WindowSink } from '../stores/postgres-rows.ts';
import type { Placement } from './place.ts';

/** What one batch must read and claim. */
export interface LoadRequests {
  /** Per declared tumbling or hopping window (by name): the windows not held, one read each. */
  readonly windows: ReadonlyMap<string, readonly { tenant: string; start: number; key: string }[]>;
  /** Per declared session window (by name): where stored sessions its events could join may be. */
  readonly sessions: ReadonlyMap<string, readonly SessionLookup[]>;
  /** In the order of `placement.claiming`. */
  readonly claims: readonly DedupClaim[];
}

/** What the stores answered: the windows read, and per claim whether it is the id's first copy. */
export interface Loaded {
  /** Windows read for this batch by id; none of them is held by the partition. */
  readonly windows: ReadonlyMap<string, OpenWindow>;
  /** In the order of `placement.claiming`: true when the event is its id's first copy. */
  readonly firsts: readonly boolean[];
}

export const NOTHING_LOADED: Loaded = { windows: new Map(), firsts: [] };

export function loadRequests(state: PartitionState, placement: Placement): LoadRequests {
  const windows = new Map<string, Map<string, { tenant: string; start: number; key: string }>>();
  const decided = placement.decided;
  for (let i = 0; i < decided.length; i++) {
    const d = decided[i];
    if (d === undefined) continue;
    for (let j = 0; j < d.windows.length; j++) {
      const target = d.windows[j];
      if (target === undefined) continue;
      const { spec, bounds, id } = target;
      if (spec.kind === 'session' || state.windows.has(id)) continue;
      let ofSpec = windows.get(spec.name);
      if (ofSpec === undefined) {
        ofSpec = new Map();
        windows.set(spec.name, ofSpec);
      }
      if (!ofSpec.has(id)) ofSpec.set(id, { tenant: d.event.tenant, start: bounds.start, key: d.event.key });
    }
  }
  // Every provisional session of the partition is held in memory; a settled one ended at or before
  // the committed watermark, so only events at or before it can touch one.
  const sessions = new Map<string, SessionLookup[]>();
  const committed = state.watermark;
  for (const spec of state.stream.windows) {
    if (spec.kind !== 'session' || committed === null) continue;
    const lookups = new Map<string, SessionLookup>();
    for (const { event } of decided) {
      if (event.time > committed) continue;
      const { tenant, key, time } = event;
      lookups.set(`${tenant}\u0000${key}\u0000${time}`, { tenant, key, from: time, to: time + spec.gapMs });
    }
    if (lookups.size > 0) sessions.set(spec.name, [...lookups.values()]);
  }
  return {
    windows: new Map([...windows].map(([name, wanted]) => [name, [...wanted.values()]])),
    sessions,
    claims: placement.claiming.map((d) => ({
      tenant: d.event.tenant,
      id: dedupIdentity(d.event),
      time: d.event.time,
      offset: d.record.offset,
    })),
  };
}

export interface LoadDeps {
  readonly sink: WindowSink;
  readonly dedup: Dedup;
}

/** Reads and claims what `requests` asks, in the stream's window order, then the claims. */
export async function loadBatch(
  state: PartitionState,
  requests: LoadRequests,
  deps: LoadDeps,
): Promise<Loaded> {
  const stream = state.stream;
  const windows = new Map<string, OpenWindow>();
  for (const spec of stream.windows) {
    if (spec.kind === 'session') {
      const lookups = requests.sessions.get(spec.name);
      if (lookups === undefined) continue;
      for (const w of await deps.sink.readSessions(stream.name, spec.name, lookups)) {
        const id = windowId(w.tenant, w.window, w.start, w.key);
        if (!state.windows.has(id)) windows.set(id, { ...w, stream: stream.name });
      }
      continue;
    }
    const wanted = requests.windows.get(spec.name);
    if (wanted === undefined) continue;
    for (const w of await deps.sink.readWindows(stream.name, spec.name, wanted))
      windows.set(windowId(w.tenant, w.window, w.start, w.key), { ...w, stream: stream.name });
  }
  const firsts = await deps.dedup.claim(stream.name, state.partition, stream.dedupHorizonMs, requests.claims);
  return { windows, firsts };
}
