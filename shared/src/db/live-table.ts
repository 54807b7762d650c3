// A table every service holds whole in memory and keeps current (issue 21's keys, issue 22's
// webhook sources): reloaded when PostgreSQL NOTIFYs a change (a statement trigger: at once) and,
// as the fallback should a notification be lost, whenever a one-row version check every `reloadMs`
// sees a change. A database outage keeps the last table: callers are not locked out by it.

import type postgres from 'postgres';

export interface LiveTable<T> {
  readonly current: T;
  close(): Promise<void>;
}

export interface LiveTableOptions<T> {
  readonly sql: postgres.Sql;
  /** The NOTIFY channel of the trigger on the table(s). */
  readonly channel: string;
  readonly load: () => Promise<T>;
  /** A cheap value that changes whenever the table does (counts and newest updated_at). */
  readonly version: () => Promise<string>;
  readonly reloadMs?: number;
  readonly onError?: (error: unknown) => void;
}

export async function startLiveTable<T>(options: LiveTableOptions<T>): Promise<LiveTable<T>> {
  const { sql } = options;
  const onError = options.onError ?? (() => {});
  let table = await options.load();
  let version = await options.version();
  let reloading: Promise<void> | undefined;
  // Coalesced: a burst of notifications is one reload (and one more if it came mid-reload).
  let again = false;
  const reload = (): Promise<void> => {
    if (reloading !== undefined) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      do {
        again = false;
        try {
          const v = await options.version();
          table = await options.load();
          version = v;
        } catch (error) {
          onError(error);
        }
      } while (again);
      reloading = undefined;
    })();
    return reloading;
  };
  const listener = await sql.listen(
    options.channel,
    () => void reload(),
    () => void reload(),
  );
  let closed = false;
  const poll = setInterval(() => {
    if (closed || reloading !== undefined) return;
    options.version().then((v) => {
      if (v !== version) void reload();
    }, onError);
  }, options.reloadMs ?? 1_000);
  poll.unref();
  return {
    get current() {
      return table;
    },
    async close() {
      closed = true;
      clearInterval(poll);
      await listener.unlisten();
    },
  };
}
