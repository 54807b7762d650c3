// Produces ecommerce transactions straight into a pipeline's events topic, as ingest would write
// them (the wire envelope, keyed by category): for tests that put records past intake.

import { KafkaJS } from '@confluentinc/kafka-javascript';
import { encodeEvent } from '@sluice/shared/events/envelope';
import type { Transaction } from '../../tools/ecommerce-data.ts';

/** The Kafka record value ingest would write for `t`. */
export const wire = (t: Transaction) =>
  encodeEvent({
    id: t.transaction_id,
    stream: 'ecommerce',
    tenant: 'default',
    time: Date.parse(t.timestamp),
    receivedAt: Date.now(),
    key: t.product_category,
    data: { ...t },
  });

export interface DirectProducer {
  produce(batch: readonly Transaction[]): Promise<void>;
  close(): Promise<void>;
}

export async function directProducer(brokers: string[], topic: string): Promise<DirectProducer> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } });
  const producer = kafka.producer();
  await producer.connect();
  return {
    async produce(batch) {
      await producer.send({
        topic,
        messages: batch.map((t) => ({ key: t.product_category, value: wire(t) })),
      });
    },
    close: () => producer.disconnect(),
  };
}
