// Where each owned partition reads next: the adapter keeps every position itself (the client's
// MessagesStream has no per-partition seek or pause; see fetching.ts). A new assignment starts at
// the group's committed offset, else the earliest the broker keeps; a position the broker no longer
// holds (retention) restarts at the earliest it holds. Each partition's end offset is known while
// a fetch confirmed it lately.

import type { Consumer } from '@platformatic/kafka';
import { ListOffsetTimestamps } from '@platformatic/kafka';
import type { KafkaLogSink } from '../../options.ts';
import type { TopicPartition } from '../../port.ts';

/** One assignment of one partition: replaced, never reused, when the group assigns it again. */
export interface Owned extends TopicPartition {
  /** The next offset to hand over; undefined until resolved from the group's committed offset. */
  next: bigint | undefined;
  paused: boolean;
  revoked: boolean;
}

/** How long a fetched end counts as known without another fetch confirming it. */
const END_FRESH_MS = 3_000;
const OFFSET_OUT_OF_RANGE = 1;

export const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Partition numbers by topic. */
export function byTopic(parts: readonly TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of parts) {
    const partitions = out.get(topic) ?? [];
    partitions.push(partition);
    out.set(topic, partitions);
  }
  return out;
}

/** Where each new assignment starts: the group's committed offset, else the earliest kept. */
export async function resolvePositions(consumer: Consumer, parts: Owned[]): Promise<void> {
  const committed = await consumer.listCommittedOffsets({
    topics: [...byTopic(parts)].map(([topic, partitions]) => ({ topic, partitions })),
  });
  const unset = byTopic(parts.filter((part) => (committed.get(part.topic)?.[part.partition] ?? -1n) < 0n));
  const earliest =
    unset.size === 0
      ? new Map<string, bigint[]>()
      : await consumer.listOffsets({
          topics: [...unset.keys()],
          partitions: Object.fromEntries(unset),
          timestamp: ListOffsetTimestamps.EARLIEST,
        });
  for (const part of parts) {
    const offset = committed.get(part.topic)?.[part.partition] ?? -1n;
    part.next = offset >= 0n ? offset : (earliest.get(part.topic)?.[part.partition] ?? 0n);
  }
}

/** One partition's answer to a fetch that failed, as far as positions care. */
export interface OutOfRangeAnswer {
  readonly topic: string;
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly logStartOffset: bigint;
}

/** A position the broker no longer holds (retention) restarts at the earliest it holds. */
export function resetOutOfRange(
  answers: readonly OutOfRangeAnswer[],
  owned: ReadonlyMap<string, Owned>,
  log: KafkaLogSink | undefined,
): void {
  for (const answer of answers) {
    const part = owned.get(keyOf(answer.topic, answer.partitionIndex));
    if (part === undefined || answer.errorCode !== OFFSET_OUT_OF_RANGE) continue;
    log?.('warn', 'kafka consumer: position out of range; restarting at the earliest kept', {
      topic: answer.topic,
      partition: answer.partitionIndex,
      position: String(part.next),
      logStart: String(answer.logStartOffset),
    });
    part.next = answer.logStartOffset >= 0n ? answer.logStartOffset : undefined;
  }
}

/** Each partition's end as a fetch answered it, and when a fetch last confirmed it. */
export class EndOffsets {
  readonly #ends = new Map<string, { end: bigint; confirmed: number }>();

  /** A fetch answered `end` for the partition (confirmed once its whole request is answered). */
  answered(key: string, end: bigint): void {
    if (end >= 0n) this.#ends.set(key, { end, confirmed: 0 });
  }

  /**
   * An incremental fetch leaves out partitions whose end did not move: answered at all, the
   * request confirms every end it asked for.
   */
  confirm(keys: Iterable<string>, now: number): void {
    for (const key of keys) {
      const known = this.#ends.get(key);
      if (known !== undefined) known.confirmed = now;
    }
  }

  /**
   * An end no fetch confirmed lately is not known: while a broker is away (a fetch can hang for
   * seconds before it fails) records may be waiting there, and guarantee 7 must not take the
   * partition for idle and settle windows whose events are still to come.
   */
  known(topic: string, partition: number, now: number): bigint | undefined {
    const known = this.#ends.get(keyOf(topic, partition));
    return known !== undefined && now - known.confirmed <= END_FRESH_MS ? known.end : undefined;
  }
}
