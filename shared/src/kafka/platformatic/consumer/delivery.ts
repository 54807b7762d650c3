// Handing fetched records to the handler: one partition's batches in order, partitions side by side
// up to the concurrency. The port's contract: a batch whose handler threw is fetched again from its
// first record (the position does not move past it), and a partition paused or revoked meanwhile
// gets nothing more from this fetch.

import type { ConsumerHandlers } from '../../port.ts';
import type { Fetched } from './fetching.ts';

/** Hands one partition's fetched records over in batches, in order; stops at the first throw. */
export async function deliver(
  given: ConsumerHandlers,
  fetched: Fetched,
  maxBatchSize: number,
): Promise<void> {
  const { owned: part, records, end } = fetched;
  for (let index = 0; index < records.length; index += maxBatchSize) {
    // Paused or revoked meanwhile: the rest is fetched again when (and if) it is read again.
    if (part.paused || part.revoked) return;
    const chunk = records.slice(index, index + maxBatchSize);
    const last = chunk[chunk.length - 1];
    if (last === undefined) break;
    try {
      await given.onBatch({ topic: part.topic, partition: part.partition, records: chunk });
    } catch {
      // Port contract: a batch that threw was not handled; the next fetch starts at its first
      // record (the position did not move past it).
      return;
    }
    if (!part.revoked) part.next = last.offset + 1n;
  }
  // All handled: move past control batches and skipped records at the end of the fetch too.
  if (!part.revoked && end !== undefined && part.next !== undefined && end > part.next) part.next = end;
}

/** Runs work over items, at most `limit` at a time. */
export async function inLanes<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
