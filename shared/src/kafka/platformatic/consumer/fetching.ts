// Fetching: one fetch request to each partition's leader for the partitions ready to read, from the
// positions this adapter keeps, with a bounded prefetch (guarantee 5).
//
// Why our own fetch loop and not the client's MessagesStream (re-checked in issue 24 against
// @platformatic/kafka 2.12.1, the newest on npm then): the stream's pause() and resume() stop and
// start the whole stream, and it has no seek. The port needs per-partition pause (a partition whose
// store is away waits while the others go on), redelivery from a batch's first record when its
// handler throws (a seek), and contiguous batches from where a partition resumed. So the client
// serves group membership, committed and earliest offsets, metadata and the raw Fetch API, and this
// file keeps routing to leaders, record batches to records and out-of-range resets. Measured:
// `./sluice bench processor --clients platformatic` prints the client's own cost per record beside
// the worker's ("of which the Kafka client alone"), and shared/test's kafka-port tests hold the
// contract for both adapters. See docs/adr for the decision record.

import type { Consumer } from '@platformatic/kafka';
import { IS_CONTROL } from '@platformatic/kafka';
import type { KafkaLogSink } from '../../options.ts';
import type { IncomingRecord } from '../../port.ts';
import type { EndOffsets, OutOfRangeAnswer, Owned } from './positions.ts';
import { byTopic, keyOf, resetOutOfRange } from './positions.ts';

export interface Fetched {
  readonly owned: Owned;
  readonly records: IncomingRecord[];
  /** Past the last offset the fetch covered (control batches included), or undefined if none. */
  readonly end: bigint | undefined;
}

// Bounded prefetch (guarantee 5): one fetch holds at most this much, and this much per partition.
const FETCH_MAX_BYTES = 16 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
// Fewer, larger batches: a fetch waits up to 50 ms for 256 KiB (the confluent adapter's settings).
const FETCH_MIN_BYTES = 262_144;
const FETCH_MAX_WAIT_MS = 50;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type FetchResponsePartitionRecords = FetchResponse['responses'][number]['partitions'][number]['records'];

export interface FetchContext {
  readonly consumer: Consumer;
  readonly topics: readonly string[];
  readonly owned: ReadonlyMap<string, Owned>;
  readonly ends: EndOffsets;
  readonly log: KafkaLogSink | undefined;
}

/** One fetch from each leader for the partitions ready to read; per-partition records. */
export async function fetchOnce(ctx: FetchContext, ready: Owned[]): Promise<Fetched[]> {
  const { consumer, owned, ends } = ctx;
  const metadata = await consumer.metadata({ topics: [...ctx.topics] });
  const byNode = new Map<number, Owned[]>();
  for (const part of ready) {
    const leader = metadata.topics.get(part.topic)?.partitions[part.partition]?.leader;
    if (leader === undefined || leader < 0) continue;
    const parts = byNode.get(leader) ?? [];
    parts.push(part);
    byNode.set(leader, parts);
  }
  const topicById = new Map([...metadata.topics].map(([name, topic]) => [topic.id, name]));
  const answers = await Promise.all(
    [...byNode].map(async ([node, parts]) => {
      const requested = new Map(parts.map((part) => [keyOf(part.topic, part.partition), part.next]));
      const topics = [...byTopic(parts)].map(([topic, partitions]) => ({
        topicId: metadata.topics.get(topic)?.id ?? '',
        partitions: partitions.map((partition) => ({
          partition,
          fetchOffset: requested.get(keyOf(topic, partition)) ?? 0n,
          partitionMaxBytes: PARTITION_MAX_BYTES,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        })),
      }));
      try {
        const response = await consumer.fetch({
          node,
          topics,
          minBytes: FETCH_MIN_BYTES,
          maxBytes: FETCH_MAX_BYTES,
          maxWaitTime: FETCH_MAX_WAIT_MS,
        });
        return { response, requested };
      } catch (error) {
        resetOutOfRange(outOfRangeAnswers(error, topicById), owned, ctx.log);
        throw error;
      }
    }),
  );
  const fetched: Fetched[] = [];
  const now = Date.now();
  for (const { response, requested } of answers) {
    for (const topicResponse of response.responses) {
      const topic = topicById.get(topicResponse.topicId) ?? topicResponse.topicId;
      for (const answer of topicResponse.partitions) {
        const key = keyOf(topic, answer.partitionIndex);
        ends.answered(key, answer.highWatermark);
        const part = owned.get(key);
        const from = requested.get(key);
        // Stale data (a partition revoked, or moved, while the fetch was out) is dropped.
        if (part === undefined || from === undefined || part.next !== from) continue;
        fetched.push(recordsOf(part, from, answer.records ?? []));
      }
    }
    ends.confirm(requested.keys(), now);
  }
  return fetched;
}

function recordsOf(part: Owned, from: bigint, batches: NonNullable<FetchResponsePartitionRecords>): Fetched {
  const records: IncomingRecord[] = [];
  let end: bigint | undefined;
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (end === undefined || last + 1n > end) end = last + 1n;
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    // Per record in number arithmetic, not BigInt (no BigInt allocated per record): exact, as
    // epoch milliseconds and their deltas are far below 2^53.
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      // A fetch answers whole record batches: what precedes the position was handled already.
      if (offset < from) continue;
      records.push({
        topic: part.topic,
        partition: part.partition,
        offset,
        key: record.key,
        value: record.value,
        headers: headersOf(record.headers),
        timestamp: firstTimestamp + Number(record.timestampDelta),
      });
    }
  }
  return { owned: part, records, end };
}

function headersOf(headers: readonly [Buffer | null, Buffer | null][]): Readonly<Record<string, string>> {
  if (headers.length === 0) return NO_HEADERS;
  const out: Record<string, string> = {};
  for (const [name, value] of headers)
    if (name !== null) out[name.toString()] ??= value === null ? '' : value.toString();
  return out;
}

/** The per-partition answers of a fetch that failed with a response (an out-of-range position). */
function outOfRangeAnswers(error: unknown, topicById: ReadonlyMap<string, string>): OutOfRangeAnswer[] {
  const response: unknown =
    typeof error === 'object' && error !== null && 'response' in error ? error.response : undefined;
  if (!isFetchResponse(response)) return [];
  return response.responses.flatMap((topicResponse) =>
    topicResponse.partitions.map((answer) => ({
      topic: topicById.get(topicResponse.topicId) ?? topicResponse.topicId,
      partitionIndex: answer.partitionIndex,
      errorCode: answer.errorCode,
      logStartOffset: answer.logStartOffset,
    })),
  );
}

function isFetchResponse(value: unknown): value is FetchResponse {
  return (
    typeof value === 'object' && value !== null && 'responses' in value && Array.isArray(value.responses)
  );
}
