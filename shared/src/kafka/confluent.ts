// The Kafka port on @confluentinc/kafka-javascript (librdkafka), for the Node services. Its
// KafkaJS-compatible API is used with librdkafka properties where KafkaJS has no equivalent.

import { KafkaJS, RdKafka } from '@confluentinc/kafka-javascript';
import { withinMs } from '../deadline.ts';
import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { ClientOptions, ConsumerOptions, KafkaLogSink, ProducerOptions } from './options.ts';
import { errorMessage } from './options.ts';
import type {
  CommitOffset,
  ConsumerHandlers,
  IncomingRecord,
  KafkaAdmin,
  KafkaConsumer,
  OutgoingRecord,
  RecordBatch,
  TopicSpec,
} from './port.ts';
import type { BreakableProducer, RenewingProducer } from './renewing-producer.ts';
import { renewingKafkaProducer } from './renewing-producer.ts';

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

function client(options: ClientOptions): KafkaJS.Kafka {
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
// A fatal error: this client instance can never produce again (see renewing-producer.ts).
const ERR_FATAL = -150;

function isFatal(error: unknown): boolean {
  if (errorCode(error) === ERR_FATAL) return true;
  return typeof error === 'object' && error !== null && 'isFatal' in error && error.isFatal === true;
}

// Both the KafkaJS-style errors and librdkafka's own (delivery reports) carry a numeric code.
function errorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}

function kafkaError(error: unknown, what: string): AppError {
  const code = errorCode(error);
  const message = errorMessage(error);
  const queueFull = code === ERR_QUEUE_FULL;
  return appError('unavailable', queueFull ? `${what}: producer queue is full` : `${what}: ${message}`, {
    // INVARIANT: a produce failure is never reported as success; the client retries the request.
    retryable: true,
    retryAfterSeconds: queueFull ? 1 : 2,
    cause: { code, timedOut: code === ERR_MSG_TIMED_OUT },
  });
}

/** One send() call waiting for the delivery reports of its records. */
class PendingSend {
  remaining: number;
  failure: unknown = undefined;
  readonly done: Promise<void>;
  #resolve: () => void = () => {};
  constructor(count: number) {
    this.remaining = count;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  report(error: unknown): void {
    if (error !== null && error !== undefined && this.failure === undefined) this.failure = error;
    this.remaining -= 1;
    if (this.remaining <= 0) this.#resolve();
  }
  abandon(error: unknown, unsent: number): void {
    this.failure ??= error;
    this.remaining -= unsent;
    if (this.remaining <= 0) this.#resolve();
  }
  /** Gives up on the reports still missing: the send fails, whatever arrives later. */
  expire(error: Error): void {
    if (this.remaining <= 0) return;
    this.failure ??= error;
    this.#resolve();
  }
}

/** Past message.timeout.ms librdkafka owes every record a report; this much more, and a send fails. */
const REPORT_GRACE_MS = 2_000;

/**
 * The producer: a librdkafka client, replaced by a new one (a new idempotent producer id) after a
 * fatal error, instead of failing every send until a restart.
 */
export function createConfluentProducer(options: ProducerOptions): Promise<RenewingProducer> {
  return renewingKafkaProducer(() => connectProducerClient(options), options);
}

// The producer uses the client's librdkafka-level API rather than the KafkaJS-compatible one: a
// send waits on one promise for all its records instead of one per record, which is most of the
// client's per-event cost at ingest rates (measured: ~19 vs ~29 µs of CPU per record).
async function connectProducerClient(options: ProducerOptions): Promise<BreakableProducer> {
  const producer = new RdKafka.Producer({
    'bootstrap.servers': options.brokers.join(','),
    'client.id': options.clientId,
    // Guarantee 1: idempotent producer with acks=all; a send resolves only after every record's
    // delivery report, and a record's key picks its partition.
    'enable.idempotence': true,
    acks: -1,
    'compression.codec': options.compression ?? 'lz4',
    'linger.ms': options.lingerMs ?? 5,
    'message.timeout.ms': options.deliveryTimeoutMs,
    'queue.buffering.max.messages': options.maxQueuedRecords,
    'queue.buffering.max.kbytes': 262_144,
    'batch.num.messages': 10_000,
    'socket.keepalive.enable': true,
    // The Java client's partitioner, so a key lands on the same partition whichever client wrote it.
    partitioner: 'murmur2_random',
    dr_cb: true,
  });
  let fatal = false;
  producer.on('event.error', (error) => {
    if (isFatal(error)) fatal = true;
    options.log?.('warn', `kafka producer: ${error.message}`, { code: error.code, fatal: isFatal(error) });
  });
  producer.on('delivery-report', (error, report) => {
    if (error !== null && error !== undefined && isFatal(error)) fatal = true;
    const pending: unknown = report.opaque;
    if (pending instanceof PendingSend) pending.report(error);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout: options.deliveryTimeoutMs }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  } catch (error) {
    throw new Error(`kafka producer could not connect: ${errorMessage(error)}`, { cause: error });
  }
  producer.setPollInBackground(true);
  let closing: Promise<void> | undefined;
  return {
    get fatal() {
      return fatal;
    },
    async send(records: readonly OutgoingRecord[]): Promise<Result<void, AppError>> {
      if (records.length === 0) return ok(undefined);
      const pending = new PendingSend(records.length);
      for (let index = 0; index < records.length; index++) {
        const record = records[index];
        if (record === undefined) continue;
        // No headers at all rather than an empty list: the client builds a header set per record
        // for a list, even an empty one (~2 µs of CPU per record, measured), and consumers read it.
        const entries = record.headers === undefined ? [] : Object.entries(record.headers);
        const headers =
          entries.length === 0 ? undefined : entries.map(([name, value]) => ({ [name]: value }));
        try {
          producer.produce(record.topic, null, Buffer.from(record.value), record.key, null, pending, headers);
        } catch (error) {
          // Queue full (or closed, or broken for good): the records not handed over are not sent;
          // the ones before still report, and the request fails as a whole (the client retries it).
          if (isFatal(error)) fatal = true;
          pending.abandon(error, records.length - index);
          break;
        }
      }
      // Guarantee 1 either way: a send that never hears back (a client wedged by a broker restart)
      // fails with 503 instead of holding its request forever; its records may still land, and the
      // client's retry carries the same ids, which the processor counts once.
      const deadline = setTimeout(
        () =>
          pending.expire(
            new Error(`no delivery report within ${options.deliveryTimeoutMs + REPORT_GRACE_MS} ms`),
          ),
        options.deliveryTimeoutMs + REPORT_GRACE_MS,
      );
      await pending.done;
      clearTimeout(deadline);
      return pending.failure === undefined
        ? ok(undefined)
        : fail(kafkaError(pending.failure, 'produce failed'));
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => producer.flush(options.deliveryTimeoutMs, () => resolve()));
        await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
      })();
      return closing;
    },
  };
}

function headersOf(headers: readonly RdKafka.MessageHeader[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const header of headers)
    for (const [name, value] of Object.entries(header)) out[name] ??= value.toString();
  return out;
}

/** A librdkafka message as the port's record (also read by tools that consume a topic directly). */
export function toRecord(message: RdKafka.Message): IncomingRecord {
  const key = message.key;
  return {
    topic: message.topic,
    partition: message.partition,
    offset: BigInt(message.offset),
    key: key === undefined || key === null ? null : typeof key === 'string' ? Buffer.from(key) : key,
    value: message.value,
    headers: headersOf(message.headers),
    timestamp: message.timestamp ?? 0,
  };
}

/** Consecutive records of one partition, in offset order, as one batch per partition. */
function batchesOf(messages: readonly RdKafka.Message[]): RecordBatch[] {
  const batches = new Map<string, IncomingRecord[]>();
  for (const message of messages) {
    const id = `${message.topic}\u0000${message.partition}`;
    const records = batches.get(id) ?? [];
    records.push(toRecord(message));
    batches.set(id, records);
  }
  return [...batches.values()].flatMap((records) => {
    const first = records[0];
    return first === undefined ? [] : [{ topic: first.topic, partition: first.partition, records }];
  });
}

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

export async function createConfluentAdmin(options: ClientOptions): Promise<KafkaAdmin> {
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
