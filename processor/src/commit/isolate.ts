// Poison isolation (guarantee 4): a batch that a store refuses for its data is split until the
// records that cause it are found; they go to `<stream>.dlq` with the store's reason, every other
// record commits, and the partition moves on.
//
// Design: every attempt is the ordinary path, a full plan and fenced commit of a slice of the batch
// in offset order (never a partial plan). A slice that commits is done for good; one that fails
// for data left at most the Redis half of its commit (Redis commits first): the partition is then
// reloaded (takeover.ts), which finds PostgreSQL refusing Redis's `last` commit for the same data
// and rebuilds the working state from PostgreSQL, where the offset never moved. So each commit
// that lands is one the existing fences admitted, from the position the stores agree on; a record
// is counted once (its slice committed) or dead-lettered once (a one-record slice that fails is
// planned again with the record as a dead letter, acknowledged by Kafka before its offset is
// passed). Dedup claims made by failed attempts name the records' own offsets: a later attempt
// finds them as its own (stores/dedup-claims.ts).

import type { IncomingRecord } from '@sluice/shared/kafka/port';
import type { Dedup } from '../stores/dedup-claims.ts';
import type { WindowSink } from '../stores/postgres-rows.ts';
import type { StateStore } from '../stores/redis-state.ts';
import type { FailureKind, FailureStep } from './failure-kind.ts';
import { asStep, dataFailureOf, printable, StoreFailure } from './failure-kind.ts';

/** A record found to be refused for its data: why, and by which step. */
export interface Isolated {
  readonly step: FailureStep;
  readonly reason: string;
}

export type DataFailure = FailureKind & { readonly kind: 'data' };

export interface IsolationHooks {
  /**
   * Plans and commits `records` (a slice of one partition's batch, in offset order), with the
   * `isolated` ones as dead letters; throws what the stores throw.
   */
  attempt(records: readonly IncomingRecord[], isolated: ReadonlyMap<bigint, Isolated>): Promise<void>;
  /** Forgets the partition's working state, so the next attempt reloads it from the stores. */
  reset(): void;
  /** A record isolated and dead-lettered. */
  onIsolated(record: IncomingRecord, failure: DataFailure): void;
}

/**
 * Commits what of `records` the stores take and dead-letters the records they refuse, given that
 * the whole slice just failed with `failure`. Throws an outage (or a fence) as it comes: the batch
 * is then retried from the committed offset, as any failed batch.
 */
export async function isolateRecords(
  records: readonly IncomingRecord[],
  failure: DataFailure,
  hooks: IsolationHooks,
): Promise<void> {
  const isolated = new Map<bigint, Isolated>();
  const attempt = async (slice: readonly IncomingRecord[]): Promise<DataFailure | undefined> => {
    try {
      await hooks.attempt(slice, isolated);
      return undefined;
    } catch (error) {
      const data = dataFailureOf(error);
      if (data === undefined) throw error;
      hooks.reset();
      return data;
    }
  };
  const split = async (slice: readonly IncomingRecord[], refused: DataFailure): Promise<void> => {
    const [only] = slice;
    if (slice.length === 1 && only !== undefined) {
      isolated.set(only.offset, { step: refused.step, reason: printable(refused.reason, 1000) });
      const again = await attempt(slice);
      // INVARIANT: a record goes to the DLQ only if the slice commits without it; a failure that
      // stays is not this record's (a stored window the sink refuses): the batch waits and retries.
      if (again !== undefined)
        throw new StoreFailure({ ...again, kind: 'outage', retryable: true, cause: 'unknown' });
      hooks.onIsolated(only, refused);
      return;
    }
    const middle = Math.ceil(slice.length / 2);
    for (const half of [slice.slice(0, middle), slice.slice(middle)]) {
      if (half.length === 0) continue;
      const failed = await attempt(half);
      if (failed !== undefined) await split(half, failed);
    }
  };
  hooks.reset();
  await split(records, failure);
}

/** The sink with every call's failure classified as step `sink`. */
export function sinkWithSteps(sink: WindowSink): WindowSink {
  return {
    claimPartition: (...a) => asStep('sink', () => sink.claimPartition(...a)),
    readOpenWindows: (...a) => asStep('sink', () => sink.readOpenWindows(...a)),
    readWindows: (...a) => asStep('sink', () => sink.readWindows(...a)),
    readSessions: (...a) => asStep('sink', () => sink.readSessions(...a)),
    commit: (...a) => asStep('sink', () => sink.commit(...a)),
  };
}

/** The state store with every call's failure classified as step `state`. */
export function storeWithSteps(store: StateStore): StateStore {
  return {
    take: (...a) => asStep('state', () => store.take(...a)),
    seed: (...a) => asStep('state', () => store.seed(...a)),
    commit: (...a) => asStep('state', () => store.commit(...a)),
  };
}

/** Dedup with its failures classified as step `dedup`. */
export function dedupWithSteps(dedup: Dedup): Dedup {
  return { claim: (...a) => asStep('dedup', () => dedup.claim(...a)) };
}
