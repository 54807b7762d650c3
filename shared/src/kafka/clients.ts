// Picks a Kafka adapter by name (SLUICE_KAFKA_CLIENT). Each is imported only when chosen: the
// confluent adapter loads librdkafka's addon, which Bun cannot load, so a Bun process that picks
// platformatic must never import it.

import type { ClientOptions, ConsumerOptions, KafkaClientName, ProducerOptions } from './options.ts';
import type { KafkaAdmin, KafkaConsumer } from './port.ts';
import type { RenewingProducer } from './renewing-producer.ts';

export interface KafkaClients {
  readonly name: KafkaClientName;
  admin(options: ClientOptions): Promise<KafkaAdmin>;
  producer(options: ProducerOptions): Promise<RenewingProducer>;
  consumer(options: ConsumerOptions): Promise<KafkaConsumer>;
}

export async function kafkaClients(name: KafkaClientName): Promise<KafkaClients> {
  if (name === 'confluent') {
    // Said at start, not as an addon's load error deep in a stack trace.
    if (typeof process.versions.bun === 'string')
      throw new Error(
        'SLUICE_KAFKA_CLIENT=confluent needs Node (librdkafka is a Node addon); on Bun use platformatic',
      );
    const [admin, producer, consumer] = await Promise.all([
      import('./confluent/admin.ts'),
      import('./confluent/producer.ts'),
      import('./confluent/consumer.ts'),
    ]);
    return {
      name,
      admin: admin.createConfluentAdmin,
      producer: producer.createConfluentProducer,
      consumer: consumer.createConfluentConsumer,
    };
  }
  const [admin, producer, consumer] = await Promise.all([
    import('./platformatic/admin.ts'),
    import('./platformatic/producer.ts'),
    import('./platformatic/consumer.ts'),
  ]);
  return {
    name,
    admin: admin.createPlatformaticAdmin,
    producer: producer.createPlatformaticProducer,
    consumer: consumer.createPlatformaticConsumer,
  };
}
