// The local Kafka broker is real: produce with an idempotent acks=all producer and consume the
// same records back through a consumer group, with @confluentinc/kafka-javascript (librdkafka).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { stackEnv, uniqueName, waitFor } from '../../../shared/test/harness.ts';

const env = stackEnv();
const kafka = new KafkaJS.Kafka({
  kafkaJS: { brokers: env.kafkaBrokers, clientId: 'sluice-stack-test', logLevel: KafkaJS.logLevel.ERROR },
});
const admin = kafka.admin();
const topic = uniqueName('stack-test');

before(async () => {
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
});

after(async () => {
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});

test('records produced with acks=all come back through a consumer group, keyed and with headers', async () => {
  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 } });
  await producer.connect();
  const sent = Array.from({ length: 30 }, (_, i) => ({
    key: `key-${i % 5}`,
    value: JSON.stringify({ n: i }),
    headers: { traceparent: `00-${'a'.repeat(31)}${i % 10}-${'b'.repeat(16)}-01` },
  }));
  // NOTE: send() converts message values in place, so it gets copies and `sent` stays the expectation.
  const reports = await producer.send({
    topic,
    messages: sent.map((m) => ({ ...m, headers: { ...m.headers } })),
  });
  await producer.disconnect();
  assert.equal(
    reports.reduce((n, r) => n + (r.errorCode === 0 ? 1 : 0), 0),
    reports.length,
    'every partition acked',
  );

  const received: { key: string; value: string; partition: number; traceparent: string }[] = [];
  const consumer = kafka.consumer({
    kafkaJS: { groupId: uniqueName('stack-test-group'), fromBeginning: true },
  });
  await consumer.connect();
  await consumer.subscribe({ topic });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        partition,
        traceparent: message.headers?.traceparent?.toString() ?? '',
      });
    },
  });
  await waitFor(async () => (received.length >= sent.length ? true : undefined), {
    timeoutMs: 30_000,
    what: 'all records consumed',
  });
  await consumer.disconnect();

  assert.equal(received.length, sent.length, 'each record exactly once');
  const byValue = new Map(received.map((r) => [r.value, r]));
  for (const record of sent) {
    const got = byValue.get(record.value);
    assert.ok(got, `record ${record.value} consumed`);
    assert.equal(got.key, record.key);
    assert.equal(got.traceparent, record.headers.traceparent);
  }
  // Same key, same partition: the property every keyed aggregation in sluice relies on.
  for (const key of new Set(sent.map((r) => r.key))) {
    const partitions = new Set(received.filter((r) => r.key === key).map((r) => r.partition));
    assert.equal(partitions.size, 1, `all records with ${key} on one partition`);
  }
});
