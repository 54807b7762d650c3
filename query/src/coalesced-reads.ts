// The generation reads of concurrent cache hits, coalesced: every read asked for during one turn
// of the event loop goes out as one MGET of the union of their keys, and each read gets its own
// keys' values from that one answer. Under load a hit then costs a share of a Redis round trip
// instead of a whole one (on Bun a command's socket write was most of a hit's cost).
//
// Guarantee 3 holds as with one MGET per read: each read's MGET is sent after the read was asked
// for, so it sees every generation increment that completed before the request came in, which is
// all that the per-request MGET promised.

export type MultiGet = (keys: readonly string[]) => Promise<(string | null)[]>;

interface Waiter {
  readonly keys: readonly string[];
  readonly resolve: (values: (string | null)[]) => void;
  readonly reject: (error: unknown) => void;
}

export interface CoalesceOptions {
  /** Keys per MGET at most: a turn that asks for more sends several (bounded command size). */
  readonly maxKeys: number;
  /** Defers the send to the end of this turn (setImmediate; a test may pass its own). */
  readonly defer?: (send: () => void) => void;
}

export function coalescedReads(mget: MultiGet, options: CoalesceOptions): MultiGet {
  const defer = options.defer ?? ((send: () => void) => setImmediate(send));
  let waiters: Waiter[] = [];
  let keys = new Map<string, number>();

  const send = () => {
    const batch = waiters;
    const index = keys;
    waiters = [];
    keys = new Map();
    if (batch.length === 0) return;
    mget([...index.keys()]).then(
      (values) => {
        for (const waiter of batch)
          waiter.resolve(waiter.keys.map((key) => values[index.get(key) ?? -1] ?? null));
      },
      (error: unknown) => {
        for (const waiter of batch) waiter.reject(error);
      },
    );
  };

  return (wanted) =>
    new Promise((resolve, reject) => {
      if (keys.size > 0 && keys.size + wanted.length > options.maxKeys) send();
      if (waiters.length === 0) defer(send);
      waiters.push({ keys: wanted, resolve, reject });
      for (const key of wanted) if (!keys.has(key)) keys.set(key, keys.size);
    });
}
