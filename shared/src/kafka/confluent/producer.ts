// The Kafka port's producer on @confluentinc/kafka-javascript (librdkafka): a send resolves when
// the delivery reports of all its records are in (all in-sync replicas have them).

import { RdKafka } from '@confluentinc/kafka-javascript';
import type { AppError, Result } from '../../result.ts';
import { fail, ok } from '../../result.ts';
import type { ProducerOptions } from '../options.ts';
import { errorMessage } from '../options.ts';
import type { OutgoingRecord } from '../port.ts';
import type { BreakableProducer, RenewingProducer } from '../renewing-producer.ts';
import { renewingKafkaProducer } from '../renewing-producer.ts';
import { librdkafkaSecurity } from '../security.ts';
import { isFatal, kafkaError } from './errors.ts';

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
    ...librdkafkaSecurity(options.security),
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
