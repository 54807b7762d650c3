// The Kafka port's consumer on @platformatic/kafka, a client written in TypeScript: it runs on Bun
// (which cannot load librdkafka's addon) as well as Node, at a fraction of the addon's CPU per
// record. The adapter uses the client for group membership, offsets and raw fetches, and keeps
// every partition's position itself (not the client's MessagesStream, which has no per-partition
// seek or pause), so the port's contract holds: a partition's batches are contiguous from where it
// resumed, a batch whose handler threw is fetched again from its first record, and a paused
// partition is not fetched.

import { Consumer, FetchIsolationLevels, IS_CONTROL, ListOffsetTimestamps } from '@platformatic/kafka';
import { withinMs } from '../deadline.ts';
import type { ConsumerOptions } from './options.ts';
import { errorMessage } from './options.ts';
import type {
  CommitOffset,
  ConsumerHandlers,
  IncomingRecord,
  KafkaConsumer,
  TopicPartition,
} from './port.ts';

/** One assignment of one partition: replaced, never reused, when the group assigns it again. */
interface Owned extends TopicPartition {
  /** The next offset to hand over; undefined until resolved from the group's committed offset. */
  next: bigint | undefined;
  paused: boolean;
  revoked: boolean;
}

interface Fetched {
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
/** How long the loop sleeps with nothing to fetch, or after a failed fetch (doubling to 2 s). */
const IDLE_MS = 100;
const MAX_BACKOFF_MS = 2_000;
const COMMIT_TIMEOUT_MS = 10_000;
/** How long a fetched end counts as known without another fetch confirming it. */
const END_FRESH_MS = 3_000;
const CLOSE_TIMEOUT_MS = 15_000;
const OFFSET_OUT_OF_RANGE = 1;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function headersOf(headers: readonly [Buffer | null, Buffer | null][]): Readonly<Record<string, string>> {
  if (headers.length === 0) return NO_HEADERS;
  const out: Record<string, string> = {};
  for (const [name, value] of headers)
    if (name !== null) out[name.toString()] ??= value === null ? '' : value.toString();
  return out;
}

/** Partition numbers by topic. */
function byTopic(parts: readonly TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of parts) {
    const partitions = out.get(topic) ?? [];
    partitions.push(partition);
    out.set(topic, partitions);
  }
  return out;
}

/** Runs work over items, at most `limit` at a time. */
async function inLanes<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

export async function createPlatformaticConsumer(options: ConsumerOptions): Promise<KafkaConsumer> {
  const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
  const consumer = new Consumer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    groupId: options.groupId,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 4)),
    rebalanceTimeout: Math.max(30_000, sessionTimeout),
    // The classic protocol's round robin, which librdkafka also offers: a fleet may mix adapters.
    protocols: [{ name: 'roundrobin', version: 1 }],
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  consumer.topics.trackAll(...options.topics);

  let handlers: ConsumerHandlers | undefined;
  const owned = new Map<string, Owned>();
  /** Each partition's end as a fetch answered it, and when a fetch last confirmed it. */
  const highWatermarks = new Map<string, { end: bigint; confirmed: number }>();
  let generation: number | undefined;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let wake: () => void = () => {};
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const warn = (message: string, error: unknown) =>
    options.log?.('warn', `kafka consumer: ${message}: ${errorMessage(error)}`, {});
  const callHandler = (handler: ((p: readonly TopicPartition[]) => unknown) | undefined, parts: Owned[]) => {
    if (handler === undefined || parts.length === 0) return;
    const partitions = parts.map(({ topic, partition }) => ({ topic, partition }));
    void Promise.resolve()
      .then(() => handler(partitions))
      .catch((error: unknown) => warn('rebalance handler', error));
  };

  // Eager rebalancing, as librdkafka's: a rebalance revokes everything owned, a join assigns anew.
  // A batch in flight for a revoked partition finishes, but its position is dropped with it.
  const revokeAll = () => {
    const revoked = [...owned.values()];
    for (const part of revoked) part.revoked = true;
    owned.clear();
    callHandler(handlers?.onRevoked, revoked);
  };
  const assign = (assignments: readonly { topic: string; partitions: number[] }[]) => {
    revokeAll();
    const assigned: Owned[] = [];
    for (const { topic, partitions } of assignments)
      for (const partition of partitions) {
        const part: Owned = { topic, partition, next: undefined, paused: false, revoked: false };
        owned.set(keyOf(topic, partition), part);
        assigned.push(part);
      }
    callHandler(handlers?.onAssigned, assigned);
    wake();
  };
  consumer.on('consumer:group:rebalance', () => revokeAll());
  consumer.on('consumer:group:leave', () => revokeAll());
  consumer.on('consumer:group:join', (payload) => {
    // The client can report one join twice (a commit that rejoins while the heartbeat does).
    if (payload.generationId !== undefined && payload.generationId === generation) return;
    generation = payload.generationId;
    assign(payload.assignments ?? []);
  });
  // A rejoin that failed for good stops the client's heartbeats: join again until it holds.
  let joining: Promise<void> | undefined;
  const join = () => {
    joining ??= (async () => {
      let backoff = IDLE_MS;
      while (!stopping) {
        try {
          await consumer.joinGroup({});
          return;
        } catch (error) {
          warn('joining the group failed; retrying', error);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    })().finally(() => {
      joining = undefined;
    });
    return joining;
  };
  consumer.on('error', (error: unknown) => {
    warn('lost the group', error);
    revokeAll();
    if (!stopping) void sleep(IDLE_MS).then(join);
  });

  /** Where each new assignment starts: the group's committed offset, else the earliest kept. */
  const resolvePositions = async (parts: Owned[]) => {
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
  };

  /** One fetch from each leader for the partitions ready to read; per-partition records. */
  const fetchOnce = async (ready: Owned[]): Promise<Fetched[]> => {
    const metadata = await consumer.metadata({ topics: [...options.topics] });
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
          resetOutOfRange(error, topicById);
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
          if (answer.highWatermark >= 0n)
            highWatermarks.set(key, { end: answer.highWatermark, confirmed: 0 });
          const part = owned.get(key);
          const from = requested.get(key);
          // Stale data (a partition revoked, or moved, while the fetch was out) is dropped.
          if (part === undefined || from === undefined || part.next !== from) continue;
          fetched.push(recordsOf(part, from, answer.records ?? []));
        }
      }
      // An incremental fetch leaves out partitions whose end did not move: answered at all, the
      // request confirms every end it asked for.
      for (const key of requested.keys()) {
        const known = highWatermarks.get(key);
        if (known !== undefined) known.confirmed = now;
      }
    }
    return fetched;
  };

  const recordsOf = (part: Owned, from: bigint, batches: NonNullable<FetchResponsePartitionRecords>) => {
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
  };

  // A position the broker no longer holds (retention) restarts at the earliest it holds.
  const resetOutOfRange = (error: unknown, topicById: ReadonlyMap<string, string>) => {
    const response: unknown =
      typeof error === 'object' && error !== null && 'response' in error ? error.response : undefined;
    if (!isFetchResponse(response)) return;
    for (const topicResponse of response.responses) {
      const topic = topicById.get(topicResponse.topicId) ?? topicResponse.topicId;
      for (const answer of topicResponse.partitions) {
        const part = owned.get(keyOf(topic, answer.partitionIndex));
        if (part === undefined || answer.errorCode !== OFFSET_OUT_OF_RANGE) continue;
        options.log?.('warn', 'kafka consumer: position out of range; restarting at the earliest kept', {
          topic,
          partition: answer.partitionIndex,
          position: String(part.next),
          logStart: String(answer.logStartOffset),
        });
        part.next = answer.logStartOffset >= 0n ? answer.logStartOffset : undefined;
      }
    }
  };

  /** Hands one partition's fetched records over in batches, in order; stops at the first throw. */
  const deliver = async (given: ConsumerHandlers, { owned: part, records, end }: Fetched) => {
    for (let index = 0; index < records.length; index += options.maxBatchSize) {
      // Paused or revoked meanwhile: the rest is fetched again when (and if) it is read again.
      if (part.paused || part.revoked) return;
      const chunk = records.slice(index, index + options.maxBatchSize);
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
  };

  const run = async (given: ConsumerHandlers) => {
    let backoff = IDLE_MS;
    while (!stopping) {
      const parts = [...owned.values()];
      const unresolved = parts.filter((part) => part.next === undefined);
      if (unresolved.length > 0) {
        try {
          await resolvePositions(unresolved);
        } catch (error) {
          warn('reading committed offsets failed; retrying', error);
          await nap(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          continue;
        }
      }
      const ready = parts.filter((part) => !part.paused && !part.revoked && part.next !== undefined);
      if (ready.length === 0) {
        await nap(IDLE_MS);
        continue;
      }
      let fetched: Fetched[];
      try {
        fetched = await fetchOnce(ready);
        backoff = IDLE_MS;
      } catch (error) {
        if (stopping) break;
        warn('fetch failed; retrying', error);
        await nap(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      // Partitions run side by side (up to the concurrency); one partition's batches stay in order
      // and the next fetch waits for all of them, so a partition never has two batches in hand.
      await inLanes(fetched, options.concurrency, (one) => deliver(given, one));
    }
  };

  return {
    async run(given: ConsumerHandlers) {
      handlers = given;
      // Joining goes on in the background (a broker away at start is retried); the loop fetches
      // once the group assigned partitions.
      void join();
      loop = run(given);
    },
    async commit(offsets: readonly CommitOffset[]) {
      if (offsets.length === 0) return;
      const request = offsets.map(({ topic, partition, offset }) => ({
        topic,
        partition,
        offset,
        leaderEpoch: -1,
      }));
      await withinMs(consumer.commit({ offsets: request }), COMMIT_TIMEOUT_MS, 'kafka commit');
    },
    assignment: () => [...owned.values()].map(({ topic, partition }) => ({ topic, partition })),
    highWatermark(topic, partition) {
      // An end no fetch confirmed lately is not known: while a broker is away (a fetch can hang
      // for seconds before it fails) records may be waiting there, and guarantee 7 must not take
      // the partition for idle and settle windows whose events are still to come.
      const known = highWatermarks.get(keyOf(topic, partition));
      return known !== undefined && Date.now() - known.confirmed <= END_FRESH_MS ? known.end : undefined;
    },
    pause(partitions) {
      for (const { topic, partition } of partitions) {
        const part = owned.get(keyOf(topic, partition));
        if (part !== undefined) part.paused = true;
      }
    },
    resume(partitions) {
      for (const { topic, partition } of partitions) {
        const part = owned.get(keyOf(topic, partition));
        if (part !== undefined) part.paused = false;
      }
      wake();
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        wake();
        await loop;
        await joining;
        // Leaving the group is the last revoke, as librdkafka's close makes it.
        revokeAll();
        await withinMs(consumer.close(), CLOSE_TIMEOUT_MS, 'kafka consumer close');
      })();
      return closing;
    },
  };
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type FetchResponsePartitionRecords = FetchResponse['responses'][number]['partitions'][number]['records'];

function isFetchResponse(value: unknown): value is FetchResponse {
  return (
    typeof value === 'object' && value !== null && 'responses' in value && Array.isArray(value.responses)
  );
}
