// Reading a stream's DLQ topic for `./sluice dlq` (librdkafka, as the services): by partition and
// offset range with a manual assignment (no group join, no rebalance: a run reads exactly the range
// it chose and ends), and the replay position per partition, kept as the committed offset of the
// replay's own consumer group with `seen`, the holes and the cursor in the commit's metadata
// (processor/src/replay/dlq-record.ts). A commit re-reads what is stored right before it and never
// moves it backwards: the defence behind the per-stream lock `./sluice dlq replay` holds.

import { RdKafka } from '@confluentinc/kafka-javascript';
import { toRecord } from '@sluice/shared/kafka/confluent/records';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import type { KafkaSecurity } from '@sluice/shared/kafka/security';
import { librdkafkaSecurity } from '@sluice/shared/kafka/security';
import type { Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { Holes, ReplayState } from '../processor/src/replay/dlq-record.ts';
import { decodeMetadata, encodeMetadata, mergeStored } from '../processor/src/replay/dlq-record.ts';

const TIMEOUT_MS = 10_000;
/** How long a read waits for records it knows exist (below the end offset) before it gives up. */
const READ_STALL_MS = 15_000;

export interface PartitionRange {
  readonly partition: number;
  /** First offset to read. */
  readonly from: bigint;
  /** One past the last offset to read (the end offset when the run started). */
  readonly to: bigint;
}

export interface ReplayPosition {
  /** Every dead letter below it is done; undefined: no replay ran yet. */
  readonly position: bigint | undefined;
  /** One past the highest offset ever re-injected (0n: none). */
  readonly seen: bigint;
  /** The offsets below `seen` that were not re-injected. */
  readonly holes: Holes;
  /** Where the next run reads on, left by a run that stopped at its limit (0n: none). */
  readonly cursor: bigint;
}

export interface DlqTopic {
  /** The topic's partitions, or none when it does not exist (no dead letter yet). */
  partitions(): Promise<number[]>;
  bounds(partition: number): Promise<{ low: bigint; high: bigint }>;
  /** The first offset written at or after `ms` (the end offset when none is). */
  offsetAt(partition: number, ms: number): Promise<bigint>;
  position(partition: number): Promise<ReplayPosition>;
  /** Reads each range in offset order, at most `limit` records in all (the earliest of each range). */
  read(ranges: readonly PartitionRange[], limit: number): Promise<IncomingRecord[]>;
  /**
   * Commits `state`, merged with what is stored now (never a lower position or `seen`, and what
   * another run recorded as sent stays so); returns what was committed, or an error when the two
   * records do not fit in one (nothing committed then).
   */
  commit(partition: number, state: ReplayState): Promise<Result<ReplayState>>;
  close(): Promise<void>;
}

function call<T>(run: (done: (error: unknown, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

const INVALID_OFFSET = -1001;

export async function openDlqTopic(options: {
  readonly brokers: readonly string[];
  /** TLS and SASL; plaintext when absent. */
  readonly security?: KafkaSecurity;
  readonly topic: string;
  /** The replay's consumer group: where positions are committed. */
  readonly groupId: string;
}): Promise<DlqTopic> {
  const { topic } = options;
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': options.brokers.join(','),
      'client.id': 'sluice-dlq',
      ...librdkafkaSecurity(options.security),
      'group.id': options.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
    },
    // Below the log start (retention removed the oldest): read from what is there.
    { 'auto.offset.reset': 'earliest' },
  );
  await call<unknown>((done) => consumer.connect({ timeout: TIMEOUT_MS }, done));
  const bounds = async (partition: number) => {
    const o = await call<RdKafka.WatermarkOffsets>((done) =>
      consumer.queryWatermarkOffsets(topic, partition, TIMEOUT_MS, done),
    );
    return { low: BigInt(o.lowOffset), high: BigInt(o.highOffset) };
  };
  const position = async (partition: number): Promise<ReplayPosition> => {
    const [found] = await call<RdKafka.TopicPartitionOffsetAndMetadata[]>((done) =>
      consumer.committed([{ topic, partition }], TIMEOUT_MS, done),
    );
    const offset = found?.offset;
    const at = offset === undefined || offset === INVALID_OFFSET || offset < 0 ? undefined : BigInt(offset);
    return { position: at, ...decodeMetadata(found?.metadata, at ?? 0n) };
  };
  return {
    async partitions() {
      const metadata = await call<RdKafka.Metadata>((done) =>
        consumer.getMetadata({ topic, timeout: TIMEOUT_MS }, done),
      );
      const found = metadata.topics.find((t) => t.name === topic);
      return (found?.partitions ?? []).map((p) => p.id).sort((a, b) => a - b);
    },
    bounds,
    async offsetAt(partition, ms) {
      const [found] = await call<RdKafka.TopicPartitionOffset[]>((done) =>
        consumer.offsetsForTimes([{ topic, partition, offset: ms }], TIMEOUT_MS, done),
      );
      const offset = found?.offset ?? -1;
      return offset < 0 ? (await bounds(partition)).high : BigInt(offset);
    },
    position,
    async read(ranges, limit) {
      const wanted = ranges.filter((r) => r.from < r.to);
      const out: IncomingRecord[] = [];
      if (wanted.length === 0 || limit <= 0) return out;
      const open = new Map(wanted.map((r) => [r.partition, r]));
      consumer.assign(wanted.map((r) => ({ topic, partition: r.partition, offset: Number(r.from) })));
      let lastProgress = Date.now();
      try {
        while (open.size > 0 && out.length < limit) {
          const messages = await call<RdKafka.Message[]>((done) => consumer.consume(1_000, done));
          if (messages.length > 0) lastProgress = Date.now();
          else if (Date.now() - lastProgress > READ_STALL_MS)
            throw new Error(`no record of ${topic} arrived for ${READ_STALL_MS} ms below its end offset`);
          for (const message of messages) {
            const range = open.get(message.partition);
            if (range === undefined) continue;
            const record = toRecord(message);
            if (record.offset >= range.to) {
              open.delete(message.partition);
              continue;
            }
            // One partition's records in order, up to the run's limit in all.
            if (out.length < limit) out.push(record);
            if (record.offset + 1n >= range.to) open.delete(message.partition);
          }
        }
      } finally {
        consumer.unassign();
      }
      return out.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
    },
    async commit(partition, state) {
      // Kafka has no compare-and-set on a group's offsets: re-reading right before the commit
      // narrows a race with another run to the instant between the two (the lock closes it).
      const stored = await position(partition);
      const merged =
        stored.position === undefined ? state : mergeStored(state, { ...stored, position: stored.position });
      if (merged === undefined)
        return fail(
          appError(
            'unavailable',
            `another replay of ${topic} committed partition ${partition} meanwhile, and the two records of what was sent do not fit in one: nothing committed`,
          ),
        );
      // The position as the group's committed offset, the rest in the same commit's metadata.
      // commitSync returns once the coordinator stored it (or throws).
      consumer.commitSync([
        { topic, partition, offset: Number(merged.position), metadata: encodeMetadata(merged) },
      ]);
      return ok(merged);
    },
    close: () => call<unknown>((done) => consumer.disconnect(done)).then(() => undefined),
  };
}
