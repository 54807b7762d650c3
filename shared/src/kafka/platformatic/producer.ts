// The Kafka port's producer on @platformatic/kafka (TypeScript; Node and Bun). Sends are merged
// into produce requests (group-commit.ts); a send resolves when all in-sync replicas have its records.

import type { MessageToProduce } from '@platformatic/kafka';
import { ProduceAcks, Producer } from '@platformatic/kafka';
import type { AppError, Result } from '../../result.ts';
import { appError, fail, ok } from '../../result.ts';
import { groupCommit } from '../group-commit.ts';
import type { ProducerOptions } from '../options.ts';
import { errorMessage } from '../options.ts';
import type { OutgoingRecord } from '../port.ts';
import type { BreakableProducer, RenewingProducer } from '../renewing-producer.ts';
import { renewingKafkaProducer } from '../renewing-producer.ts';
import { platformaticSecurity } from '../security.ts';
import { keyPartitioner } from './partitioner.ts';

// Errors after which an idempotent producer id cannot go on (its sequence is broken or fenced):
// only a new client, with a new producer id, can send again.
const FATAL_API_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'UNKNOWN_PRODUCER_ID',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

function hasApiError(error: unknown, names: ReadonlySet<string>): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('apiId' in error && typeof error.apiId === 'string' && names.has(error.apiId)) return true;
  return 'errors' in error && Array.isArray(error.errors) && error.errors.some((e) => hasApiError(e, names));
}

function unavailable(message: string, retryAfterSeconds: number, cause?: unknown): AppError {
  // INVARIANT: a produce failure is never reported as success; the client retries the request.
  return appError('unavailable', message, { retryable: true, retryAfterSeconds, cause });
}

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

// A produce request carries at most this many value bytes, so that even before compression and
// all on one partition it stays under the broker's default message.max.bytes (1 MiB per partition
// batch): merged sends stop short of it, and a larger send is split into requests of this size.
const MAX_REQUEST_BYTES = 512 * 1024;
const RETRY_DELAY_MS = 1_000;

/**
 * A send's keys and values as UTF-8, written into one buffer of exactly their size and handed out
 * as views of it: one allocation per send instead of two per record (Buffer.from per string was
 * ~8 % of ingest's CPU on Bun, most of it the collector's). Exact, not a bound: the buffer lives
 * until the send is acknowledged, and counts against the producer's memory.
 */
function utf8Views(records: readonly OutgoingRecord[]): { keys: (Buffer | undefined)[]; values: Buffer[] } {
  let size = 0;
  for (const record of records) {
    if (record.key !== null) size += Buffer.byteLength(record.key);
    if (typeof record.value === 'string') size += Buffer.byteLength(record.value);
  }
  const arena = Buffer.allocUnsafe(size);
  let offset = 0;
  const write = (text: string) => {
    const start = offset;
    offset += arena.write(text, offset);
    return arena.subarray(start, offset);
  };
  const keys: (Buffer | undefined)[] = [];
  const values: Buffer[] = [];
  for (const record of records) {
    keys.push(record.key === null ? undefined : write(record.key));
    const value = record.value;
    values.push(
      typeof value === 'string'
        ? write(value)
        : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    );
  }
  return { keys, values };
}

/** A record's headers as the client takes them; none for none (most records carry none). */
function headerMap(headers: Readonly<Record<string, string>> | undefined): Map<Buffer, Buffer> | undefined {
  let map: Map<Buffer, Buffer> | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (!Object.hasOwn(headers, name) || value === undefined) continue;
    map ??= new Map();
    map.set(Buffer.from(name), Buffer.from(value));
  }
  return map;
}

/** The producer: replaced by a new client (a new producer id) after a fatal error. */
export function createPlatformaticProducer(options: ProducerOptions): Promise<RenewingProducer> {
  return renewingKafkaProducer(() => connectProducerClient(options), options);
}

async function connectProducerClient(options: ProducerOptions): Promise<BreakableProducer> {
  const producer = new Producer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    ...platformaticSecurity(options.security),
    // Guarantee 1: idempotent producer with acks=all; a send resolves only when every record is
    // acknowledged, and a record's key picks its partition as the Java client (and librdkafka's
    // murmur2 partitioner) picks it, so a key lands on the same partition whichever client wrote it.
    idempotent: true,
    acks: ProduceAcks.ALL,
    compression: options.compression ?? 'lz4',
    partitioner: keyPartitioner,
    timeout: options.deliveryTimeoutMs,
    // An idempotent client otherwise retries a request without end (and keeps every error): a
    // request is given about the delivery timeout, after which its sends have failed anyway.
    retries: Math.max(2, Math.ceil(options.deliveryTimeoutMs / RETRY_DELAY_MS)),
    retryDelay: RETRY_DELAY_MS,
    autocreateTopics: false,
  });
  let fatal = false;
  try {
    // Connects (and fails) now, as the confluent adapter does, not on the first send.
    await producer.metadata({ topics: [] });
  } catch (error) {
    await producer.close().catch(() => undefined);
    throw new Error(`kafka producer could not connect: ${errorMessage(error)}`, { cause: error });
  }
  let closing: Promise<void> | undefined;
  // Sends that arrive while a request is out leave together in the next one (group-commit.ts).
  const requests = groupCommit<Message>({
    request: async (messages) => {
      try {
        await producer.send({ messages });
      } catch (error) {
        if (hasApiError(error, FATAL_API_ERRORS)) fatal = true;
        throw error;
      }
    },
    maxRequestBytes: MAX_REQUEST_BYTES,
    requestTimeoutMs: options.deliveryTimeoutMs,
  });

  return {
    get fatal() {
      return fatal;
    },
    async send(records: readonly OutgoingRecord[]): Promise<Result<void, AppError>> {
      if (records.length === 0) return ok(undefined);
      // Bounded memory: past this many records queued or awaiting acks, a send is refused (503,
      // retry). Records count until their request is answered, even after their send gave up.
      if (requests.held + records.length > options.maxQueuedRecords)
        return fail(unavailable('produce failed: producer queue is full', 1));
      try {
        const sizes: number[] = [];
        const { keys, values } = utf8Views(records);
        const messages = records.map((record, i): Message => {
          const value = values[i] ?? Buffer.alloc(0);
          const key = keys[i];
          sizes.push(value.byteLength);
          const headers = headerMap(record.headers);
          // Whole shapes, not spreads: a spread per record was a copy on Bun's profile.
          if (headers === undefined)
            return key === undefined ? { topic: record.topic, value } : { topic: record.topic, key, value };
          return key === undefined
            ? { topic: record.topic, value, headers }
            : { topic: record.topic, key, value, headers };
        });
        // Guarantee 1 either way: a send that never hears back fails with 503 instead of holding
        // its request; its records may still land, and the retry carries the same ids.
        await requests.submit(messages, sizes, options.deliveryTimeoutMs);
        return ok(undefined);
      } catch (error) {
        return fail(unavailable(`produce failed: ${errorMessage(error)}`, 2, { fatal }));
      }
    },
    close() {
      // The port's close flushes: what is queued is sent (or fails) before the client goes.
      closing ??= requests.drained().then(() => producer.close());
      return closing;
    },
  };
}
