// Reads a topic from the beginning with a throw-away consumer group, for assertions on what was
// actually written to Kafka.

import { KafkaJS } from '@confluentinc/kafka-javascript';
import { uniqueName, waitFor } from './harness.ts';

export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Consumes `topic` until `expected` records arrived (or the timeout), then returns them. */
export async function readTopic(
  brokers: string[],
  topic: string,
  expected: number,
  timeoutMs = 30_000,
): Promise<ReadRecord[]> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } });
  const consumer = kafka.consumer({ kafkaJS: { groupId: uniqueName('reader'), fromBeginning: true } });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          const first = Array.isArray(v) ? v[0] : v;
          if (first !== undefined) headers[k] = first.toString();
        }
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers,
        });
      },
    });
    await waitFor(async () => (records.length >= expected ? true : undefined), {
      timeoutMs,
      what: `${expected} records on ${topic} (have ${records.length})`,
    }).catch(() => undefined);
    // A short grace period catches records beyond the expected count (duplicates must fail tests).
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.disconnect();
  }
  return records;
}
