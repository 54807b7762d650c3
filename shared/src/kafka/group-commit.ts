// Group commit for a producer that keeps one request in flight (an idempotent @platformatic/kafka
// producer does): sends that arrive while a request is out wait here and leave together in the
// next one, as librdkafka batches its queue, but with no linger when idle. Fewer, larger requests
// cost the client and the broker less per record. Pure logic over `request`; no Kafka here.

import { withinMs } from '../deadline.ts';

export interface GroupCommitOptions<M> {
  /** Sends one request; resolves when the broker acknowledged every record of it. */
  readonly request: (records: M[]) => Promise<void>;
  /** Value bytes one request may carry: merged sends stop short of it, a larger send is split. */
  readonly maxRequestBytes: number;
  /** How long one request may take before its sends fail and the next request goes. */
  readonly requestTimeoutMs: number;
}

export interface GroupCommit<M> {
  /**
   * Queues one send's records (with each record's value size) and resolves when every one was
   * acknowledged; rejects when a request holding any of them failed or `timeoutMs` passed.
   */
  submit(records: M[], sizes: readonly number[], timeoutMs: number): Promise<void>;
  /** Records queued or in a request: what memory is held (bounded by the caller). */
  readonly held: number;
  /** Resolves when every queued record has had its request answered (a close flushes first). */
  drained(): Promise<void>;
}

/** Records of one send bound for one request; a send larger than a request is several parts. */
interface Part<M> {
  readonly records: M[];
  readonly bytes: number;
  /** Set when its send already failed: the part is dropped instead of sent. */
  abandoned: boolean;
  readonly settle: (error: unknown) => void;
}

export function groupCommit<M>(options: GroupCommitOptions<M>): GroupCommit<M> {
  let queue: Part<M>[] = [];
  let held = 0;
  let pumping = false;
  let pumped: Promise<void> = Promise.resolve();

  function release(part: Part<M>, error: unknown): void {
    held -= part.records.length;
    part.settle(error);
  }

  /** The leading parts that fit one request: at least one, then while under the byte cap. */
  function take(): Part<M>[] {
    let bytes = 0;
    let count = 0;
    for (const part of queue) {
      if (count > 0 && bytes + part.bytes > options.maxRequestBytes) break;
      bytes += part.bytes;
      count += 1;
    }
    const taken = queue.slice(0, count);
    queue = queue.slice(count);
    return taken;
  }

  function startPump(): void {
    if (pumping) return;
    pumping = true;
    pumped = pump();
  }

  async function pump(): Promise<void> {
    // `pumping` is cleared in the same turn that finds the queue empty (no await between), so a
    // part queued after that starts a new pump instead of waiting for one that has ended.
    try {
      while (queue.length > 0) {
        // A part whose send gave up is not sent: nobody waits for it, and it would only be a
        // duplicate of the retry (which carries the same ids).
        queue = queue.filter((part) => {
          if (part.abandoned) release(part, new Error('send abandoned'));
          return !part.abandoned;
        });
        const taken = take();
        if (taken.length === 0) break;
        const records =
          taken.length === 1 ? (taken[0]?.records ?? []) : taken.flatMap((part) => part.records);
        try {
          // Guarantee 1: a part is acknowledged only by its own request's answer.
          await withinMs(options.request(records), options.requestTimeoutMs, 'kafka produce request');
          for (const part of taken) release(part, undefined);
        } catch (error) {
          for (const part of taken) release(part, error);
        }
      }
    } finally {
      pumping = false;
    }
  }

  function enqueue(records: M[], bytes: number): { part: Part<M>; acked: Promise<void> } {
    let settle: (error: unknown) => void = () => {};
    const acked = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    const part: Part<M> = { records, bytes, abandoned: false, settle };
    queue.push(part);
    held += records.length;
    return { part, acked };
  }

  return {
    get held() {
      return held;
    },
    async drained() {
      while (pumping) await pumped;
    },
    async submit(records, sizes, timeoutMs) {
      if (records.length === 0) return;
      // Split into parts of at most maxRequestBytes (one record at least), queued in call order so
      // that records of one key keep their order on a partition.
      const parts: { part: Part<M>; acked: Promise<void> }[] = [];
      let start = 0;
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        const size = sizes[i] ?? 0;
        if (i > start && bytes + size > options.maxRequestBytes) {
          parts.push(enqueue(records.slice(start, i), bytes));
          start = i;
          bytes = 0;
        }
        bytes += size;
      }
      parts.push(enqueue(start === 0 ? records : records.slice(start), bytes));
      startPump();
      try {
        // The send is acknowledged only when every part is; if one fails or time runs out, the
        // send fails (503) and the parts not yet sent are dropped.
        await withinMs(Promise.all(parts.map((p) => p.acked)), timeoutMs, 'kafka produce');
      } catch (error) {
        for (const { part } of parts) part.abandoned = true;
        throw error;
      }
    },
  };
}
