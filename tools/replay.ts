// ./sluice replay late --stream S [--idle-ms N] [--max-s N]: re-injects the stream's late topic as a
// backfill that amends windows (see processor/src/replay/late.ts). Prints how many it replayed.

import { parseArgs } from 'node:util';
import { kafkaBrokersEnv, loadConfig, topicPrefixEnv } from '@sluice/shared/config';
import { checkKafkaSecurity, kafkaSecurityEnv, kafkaSecurityOf } from '@sluice/shared/connection-config';
import { createConfluentConsumer } from '@sluice/shared/kafka/confluent/consumer';
import { createConfluentProducer } from '@sluice/shared/kafka/confluent/producer';
import { processConfigOptions } from '@sluice/shared/lifecycle';
import { streamRegistry, topicNames } from '@sluice/shared/streams/registry';
import { z } from 'zod';
import { replayLate } from '../processor/src/replay/late.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    stream: { type: 'string' },
    'idle-ms': { type: 'string', default: '3000' },
    'max-s': { type: 'string', default: '600' },
  },
});
const streams = streamRegistry();
const stream = values.stream === undefined ? undefined : streams.get(values.stream);
if (positionals[0] !== 'late' || stream === undefined) {
  console.error(`usage: ./sluice replay late --stream <${[...streams.keys()].join('|')}>`);
  process.exit(2);
}
const config = loadConfig(
  'sluice-replay',
  z
    .object({
      SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
      ...kafkaSecurityEnv,
      SLUICE_TOPIC_PREFIX: topicPrefixEnv,
    })
    .superRefine(checkKafkaSecurity),
  processConfigOptions(),
);
const topics = topicNames(stream.name, config.SLUICE_TOPIC_PREFIX);
const kafka = {
  brokers: config.SLUICE_KAFKA_BROKERS,
  clientId: 'sluice-replay',
  security: kafkaSecurityOf(config),
};
const { replayed, uncommittedBatches } = await replayLate({
  consumer: await createConfluentConsumer({
    ...kafka,
    // One group per prefix and stream: a second run replays only what arrived since the first.
    groupId: `${config.SLUICE_TOPIC_PREFIX}sluice-replay-late.${stream.name}`,
    topics: [topics.late],
    maxBatchSize: 1_000,
    concurrency: 1,
  }),
  producer: await createConfluentProducer({ ...kafka, deliveryTimeoutMs: 30_000, maxQueuedRecords: 100_000 }),
  topics,
  idleMs: Number(values['idle-ms']),
  maxMs: Number(values['max-s']) * 1_000,
});
console.log(`replayed ${replayed} late event(s) from ${topics.late} into ${topics.events} as a backfill`);
if (uncommittedBatches > 0) {
  console.error(`${uncommittedBatches} batch(es) not committed: a next run replays them again`);
  process.exitCode = 1;
}
