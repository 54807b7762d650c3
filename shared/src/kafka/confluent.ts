// The Kafka port on @confluentinc/kafka-javascript (librdkafka), for the Node services. Its
// KafkaJS-compatible API is used with librdkafka properties where KafkaJS has no equivalent.

import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../log.ts';
import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type {
  CommitOffset,
  ConsumerHandlers,
  IncomingRecord,
  KafkaAdmin,
  KafkaConsumer,
  KafkaProducer,
  OutgoingRecord,
  TopicPartition,
  TopicSpec,
} from './port.ts';

/** Where librdkafka's own messages go (a service passes its JSON logger; tests pass nothing). */
export type KafkaLogSink = (level: 'warn' | 'error', message: string, extra: object) => void;

/** The sink that writes the client's warnings and errors into a service's JSON log. */
export const kafkaLogTo =
  (log: Logger): KafkaLogSink =>
  (level, message, extra) =>
    log[level]({ kafka: extra }, message);

export interface ConfluentOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log?: KafkaLogSink;
}

// The client logs every connection retry while a broker is away; warnings and errors go to the
// service's structured log (or nowhere), never as raw console dumps.
function kafkaLogger(sink: KafkaLogSink | undefined): KafkaJS.Logger {
  const logger: KafkaJS.Logger = {
    info: () => {},
    debug: () => {},
    warn: (message, extra) => sink?.('warn', message, extra ?? {}),
    error: (message, extra) => sink?.('error', message, extra ?? {}),
    namespace: () => logger,
    setLogLevel: () => {},
  };
  return logger;
}

function client(options: ConfluentOptions): KafkaJS.Kafka {
  return new KafkaJS.Kafka({
    kafkaJS: {
      brokers: [...options.brokers],
      clientId: options.clientId,
      logLevel: KafkaJS.logLevel.WARN,
      logger: kafkaLogger(options.log),
    },
  });
}

// librdkafka error codes that mean "Kafka is slow or away", i.e. retry later (503), not "bad input".
const ERR_QUEUE_FULL = -184;
const ERR_MSG_TIMED_OUT = -192;

function kafkaError(error: unknown, what: string): AppError {
  const code = error instanceof KafkaJS.KafkaJSError ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const queueFull = code === ERR_QUEUE_FULL;
  return appError('unavailable', queueFull ? `${what}: producer queue is full` : `${what}: ${message}`, {
    // INVARIANT: a produce failure is never reported as success; the client retries the request.
    retryable: true,
    retryAfterSeconds: queueFull ? 1 : 2,
    cause: { code, timedOut: code === ERR_MSG_TIMED_OUT },
  });
}

export interface ProducerOptions extends ConfluentOptions {
  /** How long a record may wait for acks before the send fails (librdkafka message.timeout.ms). */
  readonly deliveryTimeoutMs: number;
  /** Upper bound on records queued in the client (bounded memory; queue full answers 503). */
  readonly maxQueuedRecords: number;
  readonly lingerMs?: number;
}

export async function createConfluentProducer(options: ProducerOptions): Promise<KafkaProducer> {
  const producer = client(options).producer({
    // Guarantee 1: idempotent producer with acks=all; a send resolves only after every record's
    // delivery report, and a record's key picks its partition.
    kafkaJS: { idempotent: true, acks: -1, compression: KafkaJS.CompressionTypes.LZ4 },
    'linger.ms': options.lingerMs ?? 5,
    'message.timeout.ms': options.deliveryTimeoutMs,
    'queue.buffering.max.messages': options.maxQueuedRecords,
    'queue.buffering.max.kbytes': 262_144,
    'batch.num.messages': 10_000,
    'socket.keepalive.enable': true,
    // The Java client's partitioner, so a key lands on the same partition whichever client wrote it.
    partitioner: 'murmur2_random',
  });
  await producer.connect();
  let closing: Promise<void> | undefined;
  return {
    async send(records: readonly OutgoingRecord[]): Promise<Result<void, AppError>> {
      const byTopic = new Map<string, KafkaJS.Message[]>();
      for (const record of records) {
        const messages = byTopic.get(record.topic) ?? [];
        messages.push({
          key: record.key,
          value: typeof record.value === 'string' ? record.value : Buffer.from(record.value),
          ...(record.headers === undefined ? {} : { headers: { ...record.headers } }),
        });
        byTopic.set(record.topic, messages);
      }
      try {
        await Promise.all([...byTopic].map(([topic, messages]) => producer.send({ topic, messages })));
        return ok(undefined);
      } catch (error) {
        return fail(kafkaError(error, 'produce failed'));
      }
    },
    close() {
      closing ??= (async () => {
        await producer.flush({ timeout: options.deliveryTimeoutMs }).catch(() => {});
        await producer.disconnect();
      })();
      return closing;
    },
  };
}

export interface ConsumerOptions extends ConfluentOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Records handed to one onBatch call at most (bounded in-flight work). */
  readonly maxBatchSize: number;
  /** Partitions handled concurrently (each one's batches stay in order). */
  readonly concurrency: number;
  /** How long a silent member keeps its partitions; a crashed worker's are reassigned after it. */
  readonly sessionTimeoutMs?: number;
}

function headersOf(headers: KafkaJS.IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    grouped.set(topic, [...(grouped.get(topic) ?? []), partition]);
  return [...grouped].map(([topic, list]) => ({ topic, partitions: list }));
}

const REBALANCE_ASSIGN = -175;
const REBALANCE_REVOKE = -174;

export async function createConfluentConsumer(options: ConsumerOptions): Promise<KafkaConsumer> {
  let handlers: ConsumerHandlers | undefined;
  const consumer = client(options).consumer({
    // STYLE #8: automatic commits off; offsets are committed only after the durable write.
    kafkaJS: { groupId: options.groupId, fromBeginning: true, autoCommit: false },
    'js.consumer.max.batch.size': options.maxBatchSize,
    // Bounded prefetch: the client holds at most this much per partition (guarantee 5).
    'queued.max.messages.kbytes': 16_384,
    'fetch.max.bytes': 16 * 1024 * 1024,
    // Fewer, larger batches: a fetch waits up to 50 ms for 256 KiB, so one PostgreSQL transaction
    // commits more events (throughput) at a bounded cost in freshness.
    'fetch.min.bytes': 262_144,
    'fetch.wait.max.ms': 50,
    'session.timeout.ms': options.sessionTimeoutMs ?? 10_000,
    'heartbeat.interval.ms': Math.max(500, Math.floor((options.sessionTimeoutMs ?? 10_000) / 4)),
    rebalance_cb: async (error: { code: number }, assignment: TopicPartition[]) => {
      const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }));
      if (error.code === REBALANCE_ASSIGN) await handlers?.onAssigned?.(partitions);
      if (error.code === REBALANCE_REVOKE) await handlers?.onRevoked?.(partitions);
    },
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...options.topics] });
  let closing: Promise<void> | undefined;
  return {
    async run(given: ConsumerHandlers) {
      handlers = given;
      await consumer.run({
        partitionsConsumedConcurrently: options.concurrency,
        eachBatch: async ({ batch }) => {
          const records: IncomingRecord[] = batch.messages.map((message) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: BigInt(message.offset),
            key: message.key,
            value: message.value,
            headers: headersOf(message.headers),
            timestamp: Number(message.timestamp),
          }));
          await given.onBatch({ topic: batch.topic, partition: batch.partition, records });
        },
      });
    },
    async commit(offsets: readonly CommitOffset[]) {
      if (offsets.length === 0) return;
      await consumer.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: offset.toString() })),
      );
    },
    assignment: () => consumer.assignment().map(({ topic, partition }) => ({ topic, partition })),
    pause: (partitions) => consumer.pause(byTopic(partitions)),
    resume: (partitions) => consumer.resume(byTopic(partitions)),
    close() {
      closing ??= consumer.disconnect();
      return closing;
    },
  };
}

export async function createConfluentAdmin(options: ConfluentOptions): Promise<KafkaAdmin> {
  const admin = client(options).admin();
  await admin.connect();
  return {
    async ensureTopics(specs: readonly TopicSpec[]): Promise<Result<void, AppError>> {
      try {
        const existing = new Set(await admin.listTopics({ timeout: 5_000 }));
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length === 0) return ok(undefined);
        await admin.createTopics({
          timeout: 10_000,
          topics: missing.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: -1,
            configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
        return ok(undefined);
      } catch (error) {
        // Another service may have created it between list and create: that is success.
        if (error instanceof Error && /already exists/i.test(error.message)) return ok(undefined);
        return fail(kafkaError(error, 'creating topics failed'));
      }
    },
    async ping(timeoutMs: number) {
      try {
        await admin.listTopics({ timeout: timeoutMs });
        return true;
      } catch {
        return false;
      }
    },
    close: () => admin.disconnect(),
  };
}
