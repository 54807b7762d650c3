// The live feed of window updates: after a processor's transaction committed, the window rows it
// wrote (and the sessions it merged away) are appended to a Redis Stream per tenant and stream as
// one entry per commit (one XADD, not one per row: sessions per user write nearly a row per
// event), trimmed to about FEED_MAX_LEN entries. The query service reads it for Server-Sent
// Events: one `windows` event per entry, whose id is the entry id, so a client resumes with
// Last-Event-ID exactly after the last commit it saw.

/** Entries (commits) kept per stream (approximate trimming: Redis trims whole macro-nodes). */
export const FEED_MAX_LEN = 10_000;

// The hash tag keeps a stream's feed in one Redis Cluster slot, beside its cache generations.
export const feedKey = (prefix: string, tenant: string, stream: string) =>
  `${prefix}live:{${tenant}|${stream}}`;

/** One update as the feed carries it and the SSE `window` event shows it. */
export interface WindowUpdate {
  readonly stream: string;
  readonly window: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly key: string;
  readonly values: Record<string, number | null>;
  readonly status: 'provisional' | 'settled' | 'amended';
  readonly version: number;
  readonly trace_id: string | null;
  /** A session merged into another: its row is gone. */
  readonly removed: boolean;
}
