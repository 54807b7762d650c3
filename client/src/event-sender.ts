// Sends events in batches: a batch leaves when it holds `maxBatchEvents` events or
// `maxBatchBytes` of NDJSON, or `lingerMs` after its first event, whichever comes first; at most
// `maxInFlight` batches travel at once. Each event gets its own verdict promise.
//
// INVARIANT (bounded memory): the events queued and in flight never exceed `maxBufferedEvents` nor
// `maxBufferedBytes`. send() waits for room while they would (backpressure: a caller that awaits
// send() is slowed to what the pipeline takes); at most `maxWaiting` sends wait at once, and one
// more is answered at once with a retryable `buffer_full` verdict instead of being held.

import type { EventInput, QueuedEvent } from './event-input.ts';
import { queued } from './event-input.ts';
import type { TransportOptions } from './transport.ts';
import { sendBatch } from './transport.ts';
import type { EventVerdict } from './verdict.ts';

export interface BatchingOptions {
  readonly maxBatchEvents: number;
  readonly maxBatchBytes: number;
  readonly lingerMs: number;
  readonly maxInFlight: number;
  readonly maxBufferedEvents: number;
  readonly maxBufferedBytes: number;
  readonly maxWaiting: number;
}

export interface SenderOptions extends TransportOptions, BatchingOptions {
  readonly newId: (event: EventInput) => string;
}

/** A queued event: its id (fixed now, the same on every retry) and its verdict to come. */
export interface Sent {
  readonly id: string;
  readonly verdict: Promise<EventVerdict>;
}

export interface EventSender {
  /** Queues one event; resolves once it is in the buffer (waits while the buffer is full). */
  send(event: EventInput): Promise<Sent>;
  /** Sends everything queued now and resolves once each of those events has its verdict. */
  flush(): Promise<void>;
  /** Flushes, then refuses further sends (their verdict: `closed`). Idempotent. */
  close(): Promise<void>;
  /** Events queued or in flight, and their bytes. */
  buffered(): { readonly events: number; readonly bytes: number };
}

interface Pending extends QueuedEvent {
  readonly resolve: (verdict: EventVerdict) => void;
  readonly verdict: Promise<EventVerdict>;
}

function refusedAtOnce(id: string, code: 'buffer_full' | 'closed', message: string): Sent {
  return {
    id,
    verdict: Promise.resolve({
      status: 'failed',
      id,
      error: { code, message, retryable: code === 'buffer_full' },
      attempts: 0,
    }),
  };
}

export function createEventSender(options: SenderOptions): EventSender {
  const queue: Pending[] = [];
  let queuedBytes = 0;
  let bufferedEvents = 0;
  let bufferedBytes = 0;
  let inFlight = 0;
  let closed = false;
  /** Events of the queue that must leave now, however small their batch (flush, linger). */
  let due = 0;
  let linger: ReturnType<typeof setTimeout> | undefined;
  const waiting: (() => void)[] = [];
  const batches = new Set<Promise<void>>();

  const fits = (bytes: number) =>
    bufferedEvents === 0 ||
    (bufferedEvents + 1 <= options.maxBufferedEvents && bufferedBytes + bytes <= options.maxBufferedBytes);

  const wake = () => {
    // Each woken sender checks again; one that still does not fit waits again (at the back).
    for (const resume of waiting.splice(0)) resume();
  };

  const takeBatch = (): Pending[] => {
    const batch: Pending[] = [];
    let bytes = 0;
    for (const next of queue) {
      if (batch.length === options.maxBatchEvents) break;
      // One event larger than a batch still travels, alone: the intake judges it.
      if (batch.length > 0 && bytes + next.bytes > options.maxBatchBytes) break;
      batch.push(next);
      bytes += next.bytes;
    }
    queue.splice(0, batch.length);
    queuedBytes -= bytes;
    due = Math.max(0, due - batch.length);
    return batch;
  };

  const full = () => queue.length >= options.maxBatchEvents || queuedBytes >= options.maxBatchBytes;

  const dispatch = () => {
    while (inFlight < options.maxInFlight && queue.length > 0 && (due > 0 || full())) {
      const batch = takeBatch();
      inFlight += 1;
      const travel = sendBatch({ ids: batch.map((p) => p.id), lines: batch.map((p) => p.line) }, options)
        .catch((error: unknown): EventVerdict[] =>
          // sendBatch answers failures as verdicts; this is a bug's last resort, never a lost promise.
          batch.map((p) => ({
            status: 'failed',
            id: p.id,
            error: { code: 'internal', message: String(error), retryable: true },
            attempts: 0,
          })),
        )
        .then((verdicts) => {
          batch.forEach((pending, i) => {
            bufferedEvents -= 1;
            bufferedBytes -= pending.bytes;
            pending.resolve(
              verdicts[i] ?? {
                status: 'failed',
                id: pending.id,
                error: { code: 'bad_answer', message: 'no verdict for this event', retryable: true },
                attempts: 0,
              },
            );
          });
          inFlight -= 1;
          batches.delete(travel);
          wake();
          dispatch();
        });
      batches.add(travel);
    }
    if (queue.length > 0 && due === 0 && linger === undefined) {
      linger = setTimeout(() => {
        linger = undefined;
        due = queue.length;
        dispatch();
      }, options.lingerMs);
    }
    if (queue.length === 0 && linger !== undefined) {
      clearTimeout(linger);
      linger = undefined;
    }
  };

  const flush = async () => {
    due = queue.length;
    const verdicts = queue.map((p) => p.verdict);
    dispatch();
    await Promise.all([...verdicts, ...batches]);
  };

  return {
    async send(event) {
      const entry = queued(event, options.newId);
      if (closed) return refusedAtOnce(entry.id, 'closed', 'the sender is closed');
      // Only a newcomer is turned away: a send already in line waits again when woken too early.
      if (!fits(entry.bytes) && waiting.length >= options.maxWaiting)
        return refusedAtOnce(entry.id, 'buffer_full', 'the buffer and its waiting line are full');
      while (!fits(entry.bytes)) {
        await new Promise<void>((resume) => waiting.push(resume));
        if (closed) return refusedAtOnce(entry.id, 'closed', 'the sender is closed');
      }
      let resolve: (verdict: EventVerdict) => void = () => {};
      const verdict = new Promise<EventVerdict>((r) => {
        resolve = r;
      });
      queue.push({ ...entry, resolve, verdict });
      queuedBytes += entry.bytes;
      bufferedEvents += 1;
      bufferedBytes += entry.bytes;
      dispatch();
      return { id: entry.id, verdict };
    },
    flush,
    async close() {
      closed = true;
      wake();
      await flush();
    },
    buffered: () => ({ events: bufferedEvents, bytes: bufferedBytes }),
  };
}
