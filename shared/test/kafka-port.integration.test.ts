// Contract test of the Kafka port, run on each adapter (confluent, platformatic): a send resolves
// after acks and keeps keys and headers; keys and values arrive byte for byte; batches arrive per partition in offset order; pause stops
// delivery and resume continues it; a commit is the next offset to read; a batch that threw comes
// again from its first record; a member that joins takes partitions, which resume from the
// committed offset; and a key lands on the same partition whichever adapter produced it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { KafkaClients } from '../src/kafka/clients.ts';
import { kafkaClients } from '../src/kafka/clients.ts';
import { KAFKA_CLIENTS } from '../src/kafka/options.ts';
import type { IncomingRecord, KafkaAdmin, KafkaConsumer, TopicPartition } from '../src/kafka/port.ts';
import { stackEnv, uniqueName, waitFor } from './harness.ts';

const env = stackEnv();
const kafka = { brokers: env.kafkaBrokers, clientId: 'port-contract' };
const producerOptions = { ...kafka, deliveryTimeoutMs: 5_000, maxQueuedRecords: 1_000 };
const created: string[] = [];
const decode = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes ?? new Uint8Array());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The group's committed offsets, read by a client independent of the adapter under test. */
async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  const raw = new KafkaJS.Kafka({
    kafkaJS: { brokers: env.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await raw.connect();
  try {
    const offsets = await raw.fetchOffsets({ groupId, topics: [topic] });
    return new Map((offsets[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await raw.disconnect();
  }
}

after(async () => {
  const raw = new KafkaJS.Kafka({
    kafkaJS: { brokers: env.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await raw.connect();
  if (created.length > 0) await raw.deleteTopics({ topics: created });
  await raw.disconnect();
});

for (const name of KAFKA_CLIENTS) {
  describe(`the ${name} adapter`, () => {
    let clients: KafkaClients;
    let admin: KafkaAdmin;
    const newTopic = async (prefix: string, partitions: number) => {
      const topic = uniqueName(`${prefix}-${name}`);
      created.push(topic);
      assert.ok((await admin.ensureTopics([{ topic, partitions }])).ok);
      return topic;
    };

    /** One consumer of `topic` in `group`, gathering every record it is given, in order. */
    const collect = async (topic: string, group: string) => {
      const consumer = await clients.consumer({
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
      return { consumer, seen };
    };

    before(async () => {
      clients = await kafkaClients(name);
      admin = await clients.admin(kafka);
      const topic = await newTopic('port-contract', 1);
      assert.ok(
        (await admin.ensureTopics([{ topic, partitions: 1 }])).ok,
        'ensuring an existing topic is a no-op',
      );
      assert.equal(await admin.ping(2_000), true);
    });
    after(() => admin.close());

    test('send, consume in order, pause and resume, commit', { timeout: 60_000 }, async () => {
      const topic = await newTopic('port-contract', 1);
      const group = uniqueName(`port-contract-group-${name}`);
      const producer = await clients.producer(producerOptions);
      const first = Array.from({ length: 10 }, (_, i) => ({
        topic,
        key: `k${i % 2}`,
        value: `v${i}`,
        headers: { n: String(i) },
      }));
      assert.deepEqual(await producer.send(first), { ok: true, value: undefined });

      const { consumer, seen } = await collect(topic, group);
      await waitFor(async () => (seen.length >= 10 ? true : undefined), { what: 'the first 10 records' });
      assert.deepEqual(
        seen.map((r) => r.offset),
        Array.from({ length: 10 }, (_, i) => BigInt(i)),
      );
      assert.equal(decode(seen[3]?.value ?? null), 'v3');
      assert.equal(decode(seen[3]?.key ?? null), 'k1');
      assert.equal(seen[3]?.headers.n, '3');
      assert.ok(Math.abs((seen[3]?.timestamp ?? 0) - Date.now()) < 60_000, 'a timestamp in epoch ms');
      assert.equal(consumer.highWatermark(topic, 0), 10n, 'the end offset the fetches saw');

      consumer.pause([{ topic, partition: 0 }]);
      await producer.send([{ topic, key: 'k0', value: 'after-pause' }]);
      await sleep(1_500);
      assert.equal(seen.length, 10, 'a paused partition delivers nothing');
      consumer.resume([{ topic, partition: 0 }]);
      await waitFor(async () => (seen.length === 11 ? true : undefined), {
        what: 'the record sent while paused',
      });
      assert.equal(seen[10]?.offset, 10n);

      await consumer.commit([{ topic, partition: 0, offset: 11n }]);
      await consumer.close();
      await producer.close();
      assert.equal((await committedOffsets(group, topic)).get(0), '11');
    });

    test('keys and values arrive byte for byte: any UTF-8, raw bytes, no key', {
      timeout: 60_000,
    }, async () => {
      const topic = await newTopic('port-bytes', 1);
      const producer = await clients.producer(producerOptions);
      // Text of 1 to 4 UTF-8 bytes a character, an empty value, bytes that are not UTF-8 at all,
      // and a value written beside others in one send (the adapter may pack a send's bytes).
      const raw = new Uint8Array(randomBytes(64));
      const records = [
        { topic, key: 'ключ-é', value: 'a€😀z'.repeat(50) },
        { topic, key: null, value: raw },
        { topic, key: '😀', value: '' },
        { topic, key: 'k', value: 'x' },
      ] as const;
      assert.deepEqual(await producer.send(records), { ok: true, value: undefined });
      const { consumer, seen } = await collect(topic, uniqueName(`port-bytes-group-${name}`));
      await waitFor(async () => (seen.length >= records.length ? true : undefined), { what: 'the records' });
      await consumer.close();
      await producer.close();
      const expected = (value: string | Uint8Array | null) =>
        value === null ? null : typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
      assert.deepEqual(
        seen.map((r) => [
          r.key === null ? null : Buffer.from(r.key),
          Buffer.from(r.value ?? new Uint8Array()),
        ]),
        records.map((r) => [expected(r.key), expected(r.value)]),
      );
    });

    test('a send past the bound on queued records is refused as retryable, and sends again after', {
      timeout: 60_000,
    }, async () => {
      const topic = await newTopic('port-contract-bound', 1);
      const producer = await clients.producer({ ...producerOptions, maxQueuedRecords: 5 });
      const tooMany = Array.from({ length: 20 }, (_, i) => ({ topic, key: null, value: `v${i}` }));
      const refused = await producer.send(tooMany);
      assert.equal(refused.ok, false, 'bounded memory: more records than the bound are not queued');
      if (!refused.ok) {
        assert.equal(refused.error.code, 'unavailable');
        assert.equal(refused.error.retryable, true, 'the client retries it (503)');
      }
      // Within the bound it sends again once the queue has room: librdkafka frees a record's slot
      // just after its delivery report, so the first try may still find the queue full.
      await waitFor(async () => ((await producer.send(tooMany.slice(0, 5))).ok ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'a send within the bound',
      });
      await producer.close();
    });

    test('concurrent sends land whole and in call order, together past the broker batch limit', {
      timeout: 60_000,
    }, async () => {
      // The platformatic adapter merges sends that wait for the same produce request; a merged
      // request must keep call order on a partition and stay within the broker's limit on a
      // partition's batch (message.max.bytes, 1 MiB by default): here 7 MiB of values that lz4
      // cannot shrink are sent at once to one partition, 3 MiB of them in one send.
      const topic = await newTopic('port-contract-concurrent', 1);
      const producer = await clients.producer({ ...producerOptions, maxQueuedRecords: 10_000 });
      const sends = Array.from({ length: 40 }, (_, s) =>
        Array.from({ length: s === 20 ? 3_000 : 100 }, (_, i) => ({
          topic,
          key: 'same',
          value: `${s}:${i}:${randomBytes(512).toString('hex')}`,
        })),
      );
      const results = await Promise.all(sends.map((records) => producer.send(records)));
      assert.deepEqual(
        results.filter((r) => !r.ok),
        [],
        'every send acknowledged',
      );
      const consumer = await clients.consumer({
        ...kafka,
        groupId: uniqueName(`port-contract-concurrent-group-${name}`),
        topics: [topic],
        maxBatchSize: 1_000,
        concurrency: 1,
      });
      const seen: string[] = [];
      await consumer.run({
        onBatch: async (batch) => {
          for (const record of batch.records) seen.push(decode(record.value).split(':', 2).join(':'));
        },
      });
      await waitFor(async () => (seen.length >= 6_900 ? true : undefined), { what: 'all 6,900 records' });
      await consumer.close();
      await producer.close();
      assert.deepEqual(
        seen,
        sends.flatMap((records, s) => records.map((_, i) => `${s}:${i}`)),
        'each record once, in call order',
      );
    });

    test('a batch whose handler throws is delivered again from its first record', {
      timeout: 60_000,
    }, async () => {
      const topic = await newTopic('port-contract-retry', 2);
      const producer = await clients.producer(producerOptions);
      const sent = Array.from({ length: 20 }, (_, i) => ({ topic, key: `k${i % 4}`, value: `v${i}` }));
      assert.ok((await producer.send(sent)).ok);
      const consumer = await clients.consumer({
        ...kafka,
        groupId: uniqueName(`port-contract-retry-group-${name}`),
        topics: [topic],
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
      await waitFor(async () => (handled.length >= 20 ? true : undefined), {
        what: 'all 20 records handled',
      });
      await sleep(500);
      await consumer.close();
      await producer.close();
      assert.equal(failures, 2);
      assert.equal(handled.length, 20, 'every record handled exactly once after the retries');
      assert.equal(new Set(handled).size, 20);
      for (const partition of [0, 1]) {
        const offsets = handled
          .filter((h) => h.startsWith(`${partition}:`))
          .map((h) => Number(h.split(':')[1]));
        assert.deepEqual(
          offsets,
          offsets.toSorted((a, b) => a - b),
          `partition ${partition} in offset order`,
        );
        assert.equal(offsets[0], 0, `partition ${partition} starts at offset 0`);
      }
    });

    test('a member that joins takes partitions, which resume from the committed offset', {
      timeout: 90_000,
    }, async () => {
      const topic = await newTopic('port-contract-rebalance', 4);
      const groupId = uniqueName(`port-contract-rebalance-group-${name}`);
      const producer = await clients.producer(producerOptions);
      const batchOf = (from: number) =>
        Array.from({ length: 40 }, (_, i) => ({ topic, key: `k${from + i}`, value: `v${from + i}` }));
      assert.ok((await producer.send(batchOf(0))).ok);

      // Each member records what it handled and commits it at once (the processor commits later,
      // from its tick; here the commit is what the next owner resumes from).
      const member = async (label: string) => {
        const handled: string[] = [];
        const owned = new Set<string>();
        const consumer: KafkaConsumer = await clients.consumer({
          ...kafka,
          groupId,
          topics: [topic],
          maxBatchSize: 100,
          concurrency: 4,
          sessionTimeoutMs: 6_000,
        });
        const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
        await consumer.run({
          onBatch: async (batch) => {
            for (const record of batch.records) handled.push(`${record.partition}:${record.offset}`);
            const last = batch.records.at(-1);
            if (last !== undefined)
              void consumer
                .commit([{ topic, partition: batch.partition, offset: last.offset + 1n }])
                .catch(() => undefined);
          },
          onAssigned: (partitions) => {
            for (const tp of partitions) owned.add(key(tp));
          },
          onRevoked: (partitions) => {
            for (const tp of partitions) owned.delete(key(tp));
          },
        });
        return { label, consumer, handled, owned };
      };
      const a = await member('a');
      await waitFor(async () => (a.handled.length >= 40 ? true : undefined), {
        what: 'a handles the first 40',
      });
      assert.equal(a.owned.size, 4, 'a lone member owns every partition');
      // Let the commits land before the group changes.
      await waitFor(
        async () => {
          const committed = await committedOffsets(groupId, topic);
          const total = [...committed.values()].reduce((sum, offset) => sum + Math.max(0, Number(offset)), 0);
          return total === 40 ? true : undefined;
        },
        { what: 'a commits the first 40' },
      );

      const b = await member('b');
      await waitFor(async () => (a.owned.size === 2 && b.owned.size === 2 ? true : undefined), {
        what: 'two members with two partitions each',
        timeoutMs: 60_000,
      });
      assert.deepEqual(
        [...a.owned].filter((tp) => b.owned.has(tp)),
        [],
        'no partition is owned by both members',
      );
      assert.deepEqual(
        new Set(a.consumer.assignment().map((tp) => `${tp.topic}:${tp.partition}`)),
        a.owned,
        'assignment() is what the handlers were told',
      );
      assert.ok((await producer.send(batchOf(40))).ok);
      await waitFor(async () => (a.handled.length + b.handled.length >= 80 ? true : undefined), {
        what: 'the next 40 handled by the two members',
      });
      await sleep(500);
      await Promise.all([a.consumer.close(), b.consumer.close()]);
      await producer.close();
      const all = [...a.handled, ...b.handled];
      assert.equal(all.length, 80, 'nothing handled twice: each resumed from the committed offset');
      assert.equal(new Set(all).size, 80);
      assert.ok(b.handled.length > 0, 'the member that joined handled records of its partitions');
    });
  });
}

test('a key lands on the same partition whichever adapter produced it', { timeout: 60_000 }, async () => {
  const confluent = await kafkaClients('confluent');
  const admin = await confluent.admin(kafka);
  const topic = uniqueName('port-contract-partitioner');
  created.push(topic);
  assert.ok((await admin.ensureTopics([{ topic, partitions: 6 }])).ok);
  await admin.close();
  const keys = Array.from({ length: 60 }, (_, i) => `tenant-${i}:user-${i * 7}`);
  for (const name of KAFKA_CLIENTS) {
    const producer = await (await kafkaClients(name)).producer(producerOptions);
    assert.ok((await producer.send(keys.map((key) => ({ topic, key, value: name })))).ok);
    await producer.close();
  }
  const consumer = await confluent.consumer({
    ...kafka,
    groupId: uniqueName('port-contract-partitioner-group'),
    topics: [topic],
    maxBatchSize: 500,
    concurrency: 6,
  });
  const seen = new Map<string, Map<string, number>>(KAFKA_CLIENTS.map((name) => [name, new Map()]));
  await consumer.run({
    onBatch: async (batch) => {
      for (const record of batch.records)
        seen.get(decode(record.value))?.set(decode(record.key), record.partition);
    },
  });
  await waitFor(
    async () => ([...seen.values()].every((byKey) => byKey.size === keys.length) ? true : undefined),
    { what: 'every key from both adapters' },
  );
  await consumer.close();
  const [first, second] = KAFKA_CLIENTS.map((name) => seen.get(name) ?? new Map<string, number>());
  assert.ok(first !== undefined && second !== undefined);
  assert.deepEqual([...second].toSorted(), [...first].toSorted());
  assert.ok(new Set(first.values()).size > 1, 'the keys spread over several partitions');
});
