// Micro-batching at the edge: events of concurrent requests travel to ingest together, flushed at
// `maxEvents` or after `maxWaitMs`, whichever comes first. Each request is answered with its own
// share of the result.
//
// INVARIANT: the edge never fails one client for another. A batch never holds more than
// `maxEvents` events or `maxBytes` of NDJSON, both within ingest's own request limits, so ingest
// never refuses a batch for its size (a 413 every request in it would have received); a request
// larger than what is left of the open batch is split across batches and answered once all its
// parts are. The events waiting are bounded (guarantee 5): past `maxPending` in all, or past
// `maxPendingPerClient` for one client, a request gets a retryable 503 at once instead of queueing,
// so one client's burst cannot take every pending slot.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { utf8Length } from '@sluice/shared/events/record-size';
import type { Rejection } from '@sluice/shared/events/validate';
import type { AppError, Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { Forward } from './forward.ts';
import { toLine } from './forward.ts';

export interface BatchOptions {
  /** Events per batch at most (at most ingest's SLUICE_MAX_EVENTS_PER_REQUEST). */
  readonly maxEvents: number;
  /** NDJSON bytes per batch at most (at most ingest's SLUICE_MAX_REQUEST_BYTES). */
  readonly maxBytes: number;
  readonly maxWaitMs: number;
  readonly maxPending: number;
  readonly maxPendingPerClient: number;
}

/** One request's share: which of its events ingest acknowledged, and which it rejected (by index). */
export interface BatchShare {
  readonly ids: string[];
  readonly rejected: Rejection[];
}

export interface Submission {
  readonly traceparent?: string;
  /** Who sent it, for the per-client share of the pending bound (see app.ts). */
  readonly client: string;
}

export interface Batcher {
  submit(events: readonly SluiceEvent[], from: Submission): Promise<Result<BatchShare, AppError>>;
  /** Sends what is queued and waits for every batch in flight; idempotent. */
  close(): Promise<void>;
}

/** One submitted request, answered once every batch holding a part of it was answered. */
interface Pending {
  readonly events: readonly SluiceEvent[];
  readonly client: string;
  readonly traceparent: string | undefined;
  readonly rejected: Rejection[];
  readonly resolve: (result: Result<BatchShare, AppError>) => void;
  parts: number;
  error: AppError | undefined;
}

/** Events [from, to) of one request, in one batch. */
interface Slice {
  readonly pending: Pending;
  readonly from: number;
  to: number;
}

interface Batch {
  readonly slices: Slice[];
  readonly lines: string[];
  bytes: number;
}

const emptyBatch = (): Batch => ({ slices: [], lines: [], bytes: 0 });

/**
 * Ingest answers 400 when every event of a batch was rejected, with the per-event verdicts in its
 * details (indexes within the batch): those are verdicts to share out, not a failure of the batch.
 */
function allRejected(error: AppError): readonly Rejection[] | undefined {
  if (error.code !== 'validation_failed') return undefined;
  const details = error.details;
  if (typeof details !== 'object' || details === null || !('rejected' in details)) return undefined;
  const rejected = (details as { rejected: unknown }).rejected;
  return Array.isArray(rejected) ? (rejected as Rejection[]) : undefined;
}

export function createBatcher(forward: Forward, options: BatchOptions): Batcher {
  let open = emptyBatch();
  let pendingEvents = 0;
  const perClient = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const inFlight = new Set<Promise<void>>();

  const release = (client: string, count: number) => {
    pendingEvents -= count;
    const left = (perClient.get(client) ?? 0) - count;
    // Bounded: a client with nothing pending has no entry.
    if (left <= 0) perClient.delete(client);
    else perClient.set(client, left);
  };

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (open.lines.length === 0) return;
    const batch = open;
    open = emptyBatch();
    const sending = send(batch).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  };

  const finishPart = (pending: Pending) => {
    pending.parts -= 1;
    if (pending.parts > 0) return;
    if (pending.error !== undefined) {
      pending.resolve(fail(pending.error));
      return;
    }
    const rejectedAt = new Set(pending.rejected.map((r) => r.index));
    const ids = pending.events.filter((_, i) => !rejectedAt.has(i)).map((event) => event.id);
    pending.resolve(ok({ ids, rejected: pending.rejected.sort((a, b) => a.index - b.index) }));
  };

  const send = async (batch: Batch) => {
    const traceparent = batch.slices.find((s) => s.pending.traceparent !== undefined)?.pending.traceparent;
    const result = await forward(batch.lines, traceparent);
    const rejections = result.ok ? result.value.rejected : allRejected(result.error);
    const rejectedAt = rejections === undefined ? undefined : new Map(rejections.map((r) => [r.index, r]));
    let offset = 0;
    for (const slice of batch.slices) {
      const { pending } = slice;
      release(pending.client, slice.to - slice.from);
      if (rejectedAt === undefined) {
        // A failed part fails its request (the client retries it whole; the ids keep that safe).
        if (!result.ok) pending.error ??= result.error;
      } else {
        for (let i = slice.from; i < slice.to; i += 1) {
          const rejection = rejectedAt.get(offset + i - slice.from);
          if (rejection !== undefined) pending.rejected.push({ ...rejection, index: i });
        }
      }
      offset += slice.to - slice.from;
      finishPart(pending);
    }
  };

  const append = (pending: Pending) => {
    let slice: Slice | undefined;
    pending.events.forEach((event, i) => {
      const line = toLine(event);
      const bytes = utf8Length(line) + 1;
      if (
        open.lines.length > 0 &&
        (open.lines.length + 1 > options.maxEvents || open.bytes + bytes > options.maxBytes)
      ) {
        flush();
        slice = undefined;
      }
      if (slice === undefined) {
        slice = { pending, from: i, to: i };
        open.slices.push(slice);
        pending.parts += 1;
      }
      slice.to = i + 1;
      open.lines.push(line);
      open.bytes += bytes;
    });
  };

  return {
    submit(events, from) {
      const mine = perClient.get(from.client) ?? 0;
      if (pendingEvents + events.length > options.maxPending) {
        return Promise.resolve(
          fail(appError('unavailable', 'edge is at capacity; retry shortly', { retryAfterSeconds: 1 })),
        );
      }
      // The global bound is checked first: a client within its share still waits when all is full.
      if (mine + events.length > options.maxPendingPerClient) {
        return Promise.resolve(
          fail(
            appError('unavailable', 'this client has too many events waiting; retry shortly', {
              retryAfterSeconds: 1,
            }),
          ),
        );
      }
      if (events.length === 0) return Promise.resolve(ok({ ids: [], rejected: [] }));
      pendingEvents += events.length;
      perClient.set(from.client, mine + events.length);
      return new Promise((resolve) => {
        append({
          events,
          client: from.client,
          traceparent: from.traceparent,
          rejected: [],
          resolve,
          parts: 0,
          error: undefined,
        });
        if (open.lines.length >= options.maxEvents) flush();
        else if (open.lines.length > 0) timer ??= setTimeout(flush, options.maxWaitMs);
      });
    },
    async close() {
      flush();
      await Promise.allSettled([...inFlight]);
    },
  };
}
