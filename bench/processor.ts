// ./sluice bench processor: fills a fresh ecommerce topic with N events (as ingest writes them),
// then times one processor worker draining it with exactly-once on (dedup claims in Redis, rows
// and offsets in one PostgreSQL transaction): events/s, CPU seconds of the worker's process and
// events/s per core used, beside the raw consume rate of Kafka's ConsumerPerformance on the same
// topic in the same run. Ends by checking the windows add up to N.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { encodeEvent } from '@sluice/shared/events/envelope';
import { createConfluentAdmin, createConfluentProducer } from '@sluice/shared/kafka/confluent';
import type { OutgoingRecord } from '@sluice/shared/kafka/port';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { topicNames } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import postgres from 'postgres';
import { stackEnv, uniqueName } from '../shared/test/harness.ts';
import { isolate, startService } from '../shared/test/services.ts';
import { makeTransaction, seededRandom } from '../tools/ecommerce-data.ts';
import { kafkaTool } from './kafka-tools.ts';
import { printReport, processedCount } from './report.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '500000' } } });
const N = Math.min(Number(args.events), 10_000_000);
const stack = stackEnv();
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far (Linux /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

const iso = await isolate('bench-processor');
const topics = topicNames('ecommerce', iso.topicPrefix);
const sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
try {
  const kafka = { brokers: stack.kafkaBrokers, clientId: 'bench-processor' };
  const admin = await createConfluentAdmin(kafka);
  const ensured = await admin.ensureTopics(streamTopicSpecs([ecommerce], iso.topicPrefix));
  await admin.close();
  if (!ensured.ok) throw new Error(ensured.error.message);

  // Fill: N events over two hours of event time, in order within a few seconds, six categories.
  console.log(`sluice bench processor: filling ${topics.events} with ${N} events...`);
  const producer = await createConfluentProducer({
    ...kafka,
    deliveryTimeoutMs: 60_000,
    maxQueuedRecords: 200_000,
  });
  const random = seededRandom(7);
  const base = Date.parse('2026-06-01T00:00:00Z');
  const span = 2 * 3_600_000;
  for (let i = 0; i < N; i += 10_000) {
    const records: OutgoingRecord[] = [];
    for (let j = i; j < Math.min(N, i + 10_000); j++) {
      const time = base + Math.floor((j / N) * span) - Math.floor(random() * 5_000);
      const data = makeTransaction(random, `bp-${j}`, time);
      records.push({
        topic: topics.events,
        key: data.product_category,
        value: encodeEvent({
          id: data.transaction_id,
          stream: 'ecommerce',
          tenant: 'default',
          time: Date.parse(data.timestamp),
          receivedAt: time,
          key: data.product_category,
          data: { ...data },
        }),
      });
    }
    const sent = await producer.send(records);
    if (!sent.ok) throw new Error(sent.error.message);
  }
  await producer.close();

  console.log('measuring the raw consume rate (ConsumerPerformance, same topic)...');
  const perf = await kafkaTool(
    'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server',
    stack.kafkaBrokers.join(','),
    '--topic',
    topics.events,
    '--messages',
    String(N),
    '--group',
    uniqueName('bench-consumer-perf'),
  );
  // The data line: start, end, MB, MB/s, records, records/s, ...
  const line = perf.trim().split('\n').at(-1) ?? '';
  const rawRate = Number(line.split(',')[5]);

  console.log('draining with one processor worker...');
  const processor = await startService('processor', { ...iso.env, SLUICE_IDLE_TIMEOUT_MS: '600000' });
  try {
    const pid = processor.pid;
    if (pid === undefined) throw new Error('no pid for the processor');
    const cpuBefore = await cpuSeconds(pid);
    const started = performance.now();
    let processed = 0;
    while (processed < N && performance.now() - started < 900_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      processed = await processedCount(processor.url);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    const [row] = await sql<{ total: string | null }[]>`
      select sum((values->>'count')::bigint)::text as total from windows`;
    const counted = Number(row?.total ?? 0);
    const rate = processed / seconds;
    const report = {
      'events drained': processed,
      'events/s (one worker)': Math.round(rate),
      'worker CPU seconds': cpu.toFixed(1),
      'events/s per core used': Math.round(processed / cpu),
      'exactness (counted in windows / sent)': `${counted} / ${N}${counted === N ? ' (exact)' : ' (MISMATCH)'}`,
      'raw consume records/s (ConsumerPerformance)': Math.round(rawRate),
      'ratio worker / raw consume': Number((rate / rawRate).toFixed(3)),
    };
    printReport(report);
    if (counted !== N) process.exitCode = 1;
  } finally {
    await processor.stop();
  }
} finally {
  await sql.end();
  await iso.cleanup();
}
