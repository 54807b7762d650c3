// The Kafka port: what ingest and the processor need from a Kafka client, and nothing more. The
// confluent adapter (librdkafka) implements it on Node; a pure-TS adapter for Bun implements the
// same contract. Cross-cutting concerns (tracing, metrics) wrap a port; they do not live in it.

import type { AppError, Result } from '../result.ts';

export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface KafkaProducer {
  /**
   * Resolves once every record is acknowledged by all in-sync replicas (acks=all, idempotent
   * producer), or with a retryable `unavailable` error when that cannot happen in time.
   */
  send(records: readonly OutgoingRecord[]): Promise<Result<void, AppError>>;
  /** Flushes what is queued, then disconnects; idempotent. */
  close(): Promise<void>;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface IncomingRecord extends TopicPartition {
  readonly offset: bigint;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker or producer timestamp, epoch milliseconds. */
  readonly timestamp: number;
}

export interface RecordBatch extends TopicPartition {
  readonly records: readonly IncomingRecord[];
}

export interface ConsumerHandlers {
  /**
   * Handles one batch of one partition; batches of a partition never overlap. A throw means the
   * batch was not handled: the adapter delivers it again (nothing is skipped).
   */
  onBatch(batch: RecordBatch): Promise<void>;
  onAssigned?(partitions: readonly TopicPartition[]): Promise<void> | void;
  onRevoked?(partitions: readonly TopicPartition[]): Promise<void> | void;
}

export interface CommitOffset extends TopicPartition {
  /** The next offset to read (highest handled + 1). */
  readonly offset: bigint;
}

export interface KafkaConsumer {
  run(handlers: ConsumerHandlers): Promise<void>;
  /**
   * Resolves once the group coordinator confirmed. The answer is served by the poll loop, which
   * waits for the batch in hand: never await a commit inside onBatch.
   */
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  assignment(): TopicPartition[];
  /**
   * The partition's end offset as the client last saw it (cached from fetch answers, no broker
   * call): with the next offset to process, the consumer lag. Undefined while not known (not
   * fetched yet, or fetches from its broker failing).
   */
  highWatermark(topic: string, partition: number): bigint | undefined;
  /** Stops fetching these partitions (in-flight budget used) until resume; batches in hand finish. */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Stops fetching, lets the batch in hand finish, leaves the group; idempotent. */
  close(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<Result<void, AppError>>;
  /** True when a broker answered a metadata request within the timeout. */
  ping(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}
