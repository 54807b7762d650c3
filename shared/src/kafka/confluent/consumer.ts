// The Kafka port's consumer on @confluentinc/kafka-javascript (librdkafka).

import { RdKafka } from '@confluentinc/kafka-javascript';
import { withinMs } from '../../deadline.ts';
import type { ConsumerOptions } from '../options.ts';
import { errorMessage } from '../options.ts';
import type { CommitOffset, ConsumerHandlers, KafkaConsumer, RecordBatch } from '../port.ts';
import { librdkafkaSecurity } from '../security.ts';
import { errorCode } from './errors.ts';
import { batchesOf } from './records.ts';

const REBALANCE_ASSIGN = -175;
/** How long a consumer's close may take (leaving the group, a last revoke) before it fails. */
const CLOSE_TIMEOUT_MS = 15_000;
const REBALANCE_REVOKE = -174;
/** How long one poll waits for a first record before the loop looks at its stop flag again. */
const POLL_TIMEOUT_MS = 100;

// The consumer uses the client's librdkafka-level API: one poll returns up to maxBatchSize records
// of any partitions, split here into per-partition batches, which costs a quarter less per record
// than the KafkaJS-compatible runner and leaves redelivery (seek) in this adapter's hands.
export async function createConfluentConsumer(options: ConsumerOptions): Promise<KafkaConsumer> {
  let handlers: ConsumerHandlers | undefined;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
  const consumer: RdKafka.KafkaConsumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': options.brokers.join(','),
      'client.id': options.clientId,
      ...librdkafkaSecurity(options.security),
      'group.id': options.groupId,
      // STYLE #8: automatic commits off; offsets are committed only after the durable write.
      'enable.auto.commit': false,
      offset_commit_cb: true,
      // Bounded prefetch: the client holds at most this much per partition (guarantee 5).
      'queued.max.messages.kbytes': 16_384,
      'fetch.max.bytes': 16 * 1024 * 1024,
      // Fewer, larger batches: a fetch waits up to 50 ms for 256 KiB, so one PostgreSQL transaction
      // commits more events (throughput) at a bounded cost in freshness.
      'fetch.min.bytes': 262_144,
      'fetch.wait.max.ms': 50,
      'session.timeout.ms': sessionTimeoutMs,
      'heartbeat.interval.ms': Math.max(500, Math.floor(sessionTimeoutMs / 4)),
      // The handlers run first, then the assignment is applied (eager protocol), so a partition's
      // state is forgotten before another worker can own it, and loaded as it arrives.
      rebalance_cb: (error: RdKafka.LibrdKafkaError, assignment: RdKafka.Assignment[]) => {
        void rebalance(error.code, assignment);
      },
    },
    { 'auto.offset.reset': 'earliest' },
  );
  const rebalance = (code: number, assignment: RdKafka.Assignment[]) => {
    const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }));
    // The assignment changes first and whatever the handlers do: librdkafka waits for it, and a
    // rebalance (or a close: its last revoke) that never sees it waits forever.
    try {
      if (code === REBALANCE_ASSIGN) consumer.assign(assignment);
      else if (code === REBALANCE_REVOKE) consumer.unassign();
    } catch (error) {
      options.log?.('error', `kafka rebalance: ${errorMessage(error)}`, { code });
    }
    const handler =
      code === REBALANCE_ASSIGN
        ? handlers?.onAssigned
        : code === REBALANCE_REVOKE
          ? handlers?.onRevoked
          : undefined;
    void Promise.resolve()
      .then(() => handler?.(partitions))
      .catch((error: unknown) =>
        options.log?.('error', `kafka rebalance handler: ${errorMessage(error)}`, { code }),
      );
  };
  // Commits resolve in the order the coordinator answers them (one connection, in order).
  const commitWaiters: ((error: unknown) => void)[] = [];
  consumer.on('offset.commit', (error) => commitWaiters.shift()?.(error));
  consumer.on('event.error', (error) =>
    options.log?.('warn', `kafka consumer: ${error.message}`, { code: error.code }),
  );
  await new Promise<void>((resolve, reject) => {
    consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve()));
  });
  consumer.setDefaultConsumeTimeout(POLL_TIMEOUT_MS);
  // Wait only for the first record of a poll; the rest are what is already fetched.
  if ('setDefaultIsTimeoutOnlyForFirstMessage' in consumer) {
    const setter = consumer.setDefaultIsTimeoutOnlyForFirstMessage;
    if (typeof setter === 'function') setter.call(consumer, true);
  }
  consumer.subscribe([...options.topics]);

  const poll = () =>
    new Promise<RdKafka.Message[]>((resolve, reject) => {
      consumer.consume(options.maxBatchSize, (error, messages) =>
        error ? reject(error) : resolve(messages),
      );
    });
  const seek = (batch: RecordBatch) => {
    const first = batch.records[0];
    if (first === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      consumer.seek(
        { topic: batch.topic, partition: batch.partition, offset: Number(first.offset) },
        5_000,
        (error) => {
          if (error) options.log?.('warn', `kafka seek: ${error.message}`, { code: error.code });
          resolve();
        },
      );
    });
  };
  const handle = async (given: ConsumerHandlers, batch: RecordBatch) => {
    try {
      await given.onBatch(batch);
    } catch {
      // Port contract: a batch that threw was not handled; it is delivered again from its first
      // record (the seek also drops whatever the client prefetched after it).
      await seek(batch);
    }
  };

  let stopping = false;
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  return {
    async run(given: ConsumerHandlers) {
      handlers = given;
      loop = (async () => {
        while (!stopping) {
          let messages: RdKafka.Message[];
          try {
            messages = await poll();
          } catch (error) {
            options.log?.('warn', `kafka consume: ${errorMessage(error)}`, { code: errorCode(error) });
            await new Promise((resolve) => setTimeout(resolve, POLL_TIMEOUT_MS));
            continue;
          }
          const batches = batchesOf(messages);
          // Partitions run side by side (up to the concurrency); one partition's batches stay in
          // order because the next poll waits for this one's batches.
          for (let index = 0; index < batches.length; index += options.concurrency)
            await Promise.all(
              batches.slice(index, index + options.concurrency).map((batch) => handle(given, batch)),
            );
        }
      })();
    },
    commit(offsets: readonly CommitOffset[]) {
      if (offsets.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        // A commit the coordinator never answers (closing, broker away) fails after a while
        // instead of hanging a drain; its slot stays queued so later answers keep their order.
        let settled = false;
        const settle = (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(() => settle(new Error('kafka commit: no answer within 10 s')), 10_000);
        commitWaiters.push(settle);
        try {
          consumer.commit(
            offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: Number(offset) })),
          );
        } catch (error) {
          commitWaiters.pop();
          settle(error);
        }
      });
    },
    assignment: () => consumer.assignments().map(({ topic, partition }) => ({ topic, partition })),
    highWatermark(topic, partition) {
      try {
        const { highOffset } = consumer.getWatermarkOffsets(topic, partition);
        return highOffset >= 0 ? BigInt(highOffset) : undefined;
      } catch {
        // Not fetched yet, or disconnected: unknown, not zero.
        return undefined;
      }
    },
    pause: (partitions) => consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partition }))),
    resume: (partitions) => consumer.resume(partitions.map(({ topic, partition }) => ({ topic, partition }))),
    close() {
      closing ??= (async () => {
        stopping = true;
        await loop;
        // A close the group never completes (a broker or rebalance that does not answer) fails
        // after a while, so a drain reports it instead of hanging on it.
        const disconnected = new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
        await withinMs(disconnected, CLOSE_TIMEOUT_MS, 'kafka consumer close');
      })();
      return closing;
    },
  };
}
