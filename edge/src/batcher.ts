// Micro-batching at the edge: events of concurrent requests travel to ingest together, flushed at
// `maxEvents` or after `maxWaitMs`, whichever comes first. Each request is answered with its own
// share of the result. The number of events waiting is bounded (guarantee 5): past `maxPending`
// a request gets a retryable 503 at once instead of queueing.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { Rejection } from '@sluice/shared/events/validate';
import type { AppError, Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { Forward } from './forward.ts';

export interface BatchOptions {
  readonly maxEvents: number;
  readonly maxWaitMs: number;
  readonly maxPending: number;
}

/** One request's share: which of its events ingest acknowledged, and which it rejected (by index). */
export interface BatchShare {
  readonly ids: string[];
  readonly rejected: Rejection[];
}

export interface Batcher {
  submit(events: readonly SluiceEvent[], traceparent?: string): Promise<Result<BatchShare, AppError>>;
  /** Sends what is queued and waits for every batch in flight; idempotent. */
  close(): Promise<void>;
}

interface Pending {
  readonly events: readonly SluiceEvent[];
  readonly traceparent: string | undefined;
  readonly resolve: (result: Result<BatchShare, AppError>) => void;
}

export function createBatcher(forward: Forward, options: BatchOptions): Batcher {
  let queue: Pending[] = [];
  let queuedEvents = 0;
  let inFlightEvents = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const inFlight = new Set<Promise<void>>();

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    const count = queuedEvents;
    queue = [];
    queuedEvents = 0;
    inFlightEvents += count;
    const sending = send(batch).finally(() => {
      inFlightEvents -= count;
      inFlight.delete(sending);
    });
    inFlight.add(sending);
  };

  const send = async (batch: Pending[]) => {
    const events = batch.flatMap((p) => p.events);
    const result = await forward(events, batch.find((p) => p.traceparent !== undefined)?.traceparent);
    if (!result.ok) {
      for (const p of batch) p.resolve(fail(result.error));
      return;
    }
    const rejectedAt = new Map(result.value.rejected.map((r) => [r.index, r]));
    let offset = 0;
    for (const p of batch) {
      const share: BatchShare = { ids: [], rejected: [] };
      p.events.forEach((event, i) => {
        const rejection = rejectedAt.get(offset + i);
        if (rejection === undefined) share.ids.push(event.id);
        else share.rejected.push({ ...rejection, index: i });
      });
      offset += p.events.length;
      p.resolve(ok(share));
    }
  };

  return {
    submit(events, traceparent) {
      if (queuedEvents + inFlightEvents + events.length > options.maxPending) {
        return Promise.resolve(
          fail(appError('unavailable', 'edge is at capacity; retry shortly', { retryAfterSeconds: 1 })),
        );
      }
      return new Promise((resolve) => {
        queue.push({ events, traceparent, resolve });
        queuedEvents += events.length;
        if (queuedEvents >= options.maxEvents) flush();
        else timer ??= setTimeout(flush, options.maxWaitMs);
      });
    },
    async close() {
      flush();
      await Promise.allSettled([...inFlight]);
    },
  };
}
