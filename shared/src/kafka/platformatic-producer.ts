// The Kafka port's producer on @platformatic/kafka (TypeScript; Node and Bun). A send is one
// produce request per partition leader, resolved when all in-sync replicas have the records.

import { compatibilityPartitioner, ProduceAcks, Producer } from '@platformatic/kafka';
import { withinMs } from '../deadline.ts';
import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { ProducerOptions } from './options.ts';
import { errorMessage } from './options.ts';
import type { OutgoingRecord } from './port.ts';
import type { BreakableProducer, RenewingProducer } from './renewing-producer.ts';
import { renewingKafkaProducer } from './renewing-producer.ts';

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

const bytes = (value: string | Uint8Array) =>
  typeof value === 'string'
    ? Buffer.from(value)
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** The producer: replaced by a new client (a new producer id) after a fatal error. */
export function createPlatformaticProducer(options: ProducerOptions): Promise<RenewingProducer> {
  return renewingKafkaProducer(() => connectProducerClient(options), options);
}

async function connectProducerClient(options: ProducerOptions): Promise<BreakableProducer> {
  const producer = new Producer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    // Guarantee 1: idempotent producer with acks=all; a send resolves only when every record is
    // acknowledged, and a record's key picks its partition as the Java client (and librdkafka's
    // murmur2 partitioner) picks it, so a key lands on the same partition whichever client wrote it.
    idempotent: true,
    acks: ProduceAcks.ALL,
    compression: options.compression ?? 'lz4',
    partitioner: compatibilityPartitioner,
    timeout: options.deliveryTimeoutMs,
    autocreateTopics: false,
  });
  let fatal = false;
  let inFlight = 0;
  try {
    // Connects (and fails) now, as the confluent adapter does, not on the first send.
    await producer.metadata({ topics: [] });
  } catch (error) {
    await producer.close().catch(() => undefined);
    throw new Error(`kafka producer could not connect: ${errorMessage(error)}`, { cause: error });
  }
  let closing: Promise<void> | undefined;
  return {
    get fatal() {
      return fatal;
    },
    async send(records: readonly OutgoingRecord[]): Promise<Result<void, AppError>> {
      if (records.length === 0) return ok(undefined);
      // Bounded memory: past this many records awaiting acks, a send is refused (503, retry).
      if (inFlight + records.length > options.maxQueuedRecords)
        return fail(unavailable('produce failed: producer queue is full', 1));
      inFlight += records.length;
      try {
        const messages = records.map((record) => ({
          topic: record.topic,
          ...(record.key === null ? {} : { key: Buffer.from(record.key) }),
          value: bytes(record.value),
          ...(record.headers === undefined
            ? {}
            : {
                headers: new Map(
                  Object.entries(record.headers).map(([name, value]) => [
                    Buffer.from(name),
                    Buffer.from(value),
                  ]),
                ),
              }),
        }));
        // Guarantee 1 either way: a send that never hears back fails with 503 instead of holding
        // its request; its records may still land, and the retry carries the same ids.
        await withinMs(producer.send({ messages }), options.deliveryTimeoutMs, 'kafka produce');
        return ok(undefined);
      } catch (error) {
        if (hasApiError(error, FATAL_API_ERRORS)) fatal = true;
        return fail(unavailable(`produce failed: ${errorMessage(error)}`, 2, { fatal }));
      } finally {
        inFlight -= records.length;
      }
    },
    close() {
      closing ??= producer.close();
      return closing;
    },
  };
}
