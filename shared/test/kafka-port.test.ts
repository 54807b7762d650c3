// Contract test of the Kafka port on the confluent adapter (the pure-TS Bun adapter will pass the
// same one): a send resolves after acks and keeps keys and headers; batches arrive per partition in
// offset order; pause stops delivery and resume continues it; a commit is the next offset to read.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import {
  createConfluentAdmin,
  createConfluentConsumer,
  createConfluentProducer,
} from '../src/kafka/confluent.ts';
import type { IncomingRecord, KafkaAdmin } from '../src/kafka/port.ts';
import { stackEnv, uniqueName, waitFor } from './harness.ts';

const env = stackEnv();
const topic = uniqueName('port-contract');
const group = uniqueName('port-contract-group');
const kafka = { brokers: env.kafkaBrokers, clientId: 'port-contract' };
let admin: KafkaAdmin;

before(async () => {
  admin = await createConfluentAdmin(kafka);
  assert.ok((await admin.ensureTopics([{ topic, partitions: 1 }])).ok);
  assert.ok(
    (await admin.ensureTopics([{ topic, partitions: 1 }])).ok,
    'ensuring an existing topic is a no-op',
  );
  assert.equal(await admin.ping(2_000), true);
});

after(async () => {
  const raw = new KafkaJS.Kafka({
    kafkaJS: { brokers: env.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await raw.connect();
  await raw.deleteTopics({ topics: [topic] });
  await raw.disconnect();
  await admin.close();
});

test('send, consume in order, pause and resume, commit', { timeout: 60_000 }, async () => {
  const producer = await createConfluentProducer({
    ...kafka,
    deliveryTimeoutMs: 5_000,
    maxQueuedRecords: 1_000,
  });
  const first = Array.from({ length: 10 }, (_, i) => ({
    topic,
    key: `k${i % 2}`,
    value: `v${i}`,
    headers: { n: String(i) },
  }));
  assert.deepEqual(await producer.send(first), { ok: true, value: undefined });

  const consumer = await createConfluentConsumer({
    ...kafka,
    groupId: group,
    topics: [topic],
    maxBatchSize: 100,
    concurrency: 1,
  });
  const seen: IncomingRecord[] = [];
  await consumer.run({
    onBatch: async (batch) => {
      seen.push(...batch.records);
    },
  });
  await waitFor(async () => (seen.length >= 10 ? true : undefined), { what: 'the first 10 records' });
  assert.deepEqual(
    seen.map((r) => r.offset),
    Array.from({ length: 10 }, (_, i) => BigInt(i)),
  );
  assert.equal(new TextDecoder().decode(seen[3]?.value ?? new Uint8Array()), 'v3');
  assert.equal(seen[3]?.headers.n, '3');

  consumer.pause([{ topic, partition: 0 }]);
  await producer.send([{ topic, key: 'k0', value: 'after-pause' }]);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(seen.length, 10, 'a paused partition delivers nothing');
  consumer.resume([{ topic, partition: 0 }]);
  await waitFor(async () => (seen.length === 11 ? true : undefined), {
    what: 'the record sent while paused',
  });

  await consumer.commit([{ topic, partition: 0, offset: 11n }]);
  await consumer.close();
  await producer.close();

  const raw = new KafkaJS.Kafka({
    kafkaJS: { brokers: env.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await raw.connect();
  const offsets = await raw.fetchOffsets({ groupId: group, topics: [topic] });
  await raw.disconnect();
  assert.equal(offsets[0]?.partitions[0]?.offset, '11');
});

test('a batch whose handler throws is delivered again from its first record', {
  timeout: 60_000,
}, async () => {
  const retryTopic = uniqueName('port-contract-retry');
  assert.ok((await admin.ensureTopics([{ topic: retryTopic, partitions: 2 }])).ok);
  const producer = await createConfluentProducer({
    ...kafka,
    deliveryTimeoutMs: 5_000,
    maxQueuedRecords: 1_000,
  });
  const sent = Array.from({ length: 20 }, (_, i) => ({
    topic: retryTopic,
    key: `k${i % 4}`,
    value: `v${i}`,
  }));
  assert.ok((await producer.send(sent)).ok);
  const consumer = await createConfluentConsumer({
    ...kafka,
    groupId: uniqueName('port-contract-retry-group'),
    topics: [retryTopic],
    maxBatchSize: 100,
    concurrency: 2,
  });
  const handled: string[] = [];
  let failures = 0;
  await consumer.run({
    onBatch: async (batch) => {
      // The first batch of partition 0 fails twice; nothing of it may be lost or skipped.
      if (batch.partition === 0 && failures < 2) {
        failures += 1;
        throw new Error('not handled');
      }
      for (const record of batch.records) handled.push(`${record.partition}:${record.offset}`);
    },
  });
  await waitFor(async () => (handled.length >= 20 ? true : undefined), { what: 'all 20 records handled' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await consumer.close();
  await producer.close();
  assert.equal(failures, 2);
  assert.equal(handled.length, 20, 'every record handled exactly once after the retries');
  assert.equal(new Set(handled).size, 20);
  for (const partition of [0, 1]) {
    const offsets = handled.filter((h) => h.startsWith(`${partition}:`)).map((h) => Number(h.split(':')[1]));
    assert.deepEqual(
      offsets,
      offsets.toSorted((a, b) => a - b),
      `partition ${partition} in offset order`,
    );
    assert.equal(offsets[0], 0, `partition ${partition} starts at offset 0`);
  }
});
