// ./sluice bench processor: fills a fresh ecommerce topic with N events (as ingest writes them),
// then times one processor worker draining it with exactly-once on (dedup claims and the working
// state with its offset in Redis, rows and offsets in one PostgreSQL transaction), once per window
// variant: tumbling 1m count/sum by
// category (the target), tumbling 1m with ecommerce's declared aggregations (sketches included),
// hopping 5m/1m, and sessions per user (30 s gap; a second topic keyed by user). For each: events/s,
// CPU seconds of the worker's process and events/s per core used, beside the raw consume rate of
// Kafka's ConsumerPerformance on the same topic in the same run, and the worker's CPU per event
// beside what its Kafka client alone costs per record reading that topic. Each variant runs
// --rounds times (3) per Kafka adapter asked for (--clients: librdkafka's addon,
// @platformatic/kafka), reported as its median round with every round's figure. Each drain ends by
// checking that the windows add up (N per event-covering window set).
//
// Runtimes (--runtimes bun,node): the worker runs on each, rounds alternating between them, and the
// report gives Bun against Node in the same run (librdkafka's addon is Node only: its rounds run on
// Node). Workers (--workers 1,2,3): that many workers in one consumer group drain the topic
// together: events/s in total and per worker, CPU summed over them (on the cluster mode, ./sluice
// bench processor --cluster, to see how a fleet scales on this machine).

import { withinMs } from '@sluice/shared/deadline';
import { encodeEvent } from '@sluice/shared/events/envelope';
import type { KafkaClients } from '@sluice/shared/kafka/clients';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import type { KafkaClientName } from '@sluice/shared/kafka/options';
import { KAFKA_CLIENTS } from '@sluice/shared/kafka/options';
import type { OutgoingRecord } from '@sluice/shared/kafka/port';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { topicNames } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import postgres from 'postgres';
import { stackEnv, uniqueName } from '../shared/test/harness.ts';
import type { Isolation } from '../shared/test/services.ts';
import { isolate, ROOT, startService } from '../shared/test/services.ts';
import { parseCliArgs } from '../tools/cli-args.ts';
import { makeTransaction, seededRandom } from '../tools/ecommerce-data.ts';
import { stolenMeter } from './cpu-census.ts';
import { rawConsumeRate } from './kafka-tools.ts';
import { cpuSeconds, peakRssMiB, printReport, processedCount } from './report.ts';

interface Variant {
  readonly name: string;
  /** The processor's stream module (none: the built-in ecommerce stream). */
  readonly module: string | undefined;
  /** The declared window's name, to sum its rows' counts. */
  readonly window: string;
  /** How many windows hold each event (hopping 5m/1m: five). */
  readonly perEvent: number;
  readonly keyBy: 'product_category' | 'user_id';
  /** More processor environment (a variant with a feature off, to price it in the same run). */
  readonly env?: Readonly<Record<string, string>>;
}

const VARIANTS: readonly Variant[] = [
  {
    name: 'tumbling-count-sum',
    module: 'bench/streams/tumbling-count-sum.ts',
    window: '1m',
    perEvent: 1,
    keyBy: 'product_category',
  },
  { name: 'tumbling', module: undefined, window: '1m', perEvent: 1, keyBy: 'product_category' },
  {
    name: 'hopping',
    module: 'bench/streams/hopping.ts',
    window: '5m/1m',
    perEvent: 5,
    keyBy: 'product_category',
  },
  {
    name: 'session',
    module: 'bench/streams/session.ts',
    window: 'session:30s',
    perEvent: 1,
    keyBy: 'user_id',
  },
  // Sessions per user write nearly a row per event, so the live feed (one entry per written row)
  // costs most here: the same run without it prices it.
  {
    name: 'session-no-live',
    module: 'bench/streams/session.ts',
    window: 'session:30s',
    perEvent: 1,
    keyBy: 'user_id',
    env: { SLUICE_LIVE_UPDATES: 'false' },
  },
];

const { values: args } = parseCliArgs(
  {
    options: {
      events: { type: 'string', default: '500000' },
      rounds: { type: 'string', default: '3' },
      windows: { type: 'string', default: VARIANTS.map((v) => v.name).join(',') },
      clients: { type: 'string', default: KAFKA_CLIENTS.join(',') },
      runtimes: { type: 'string', default: 'bun,node' },
      workers: { type: 'string', default: '1' },
    },
  },
  './sluice bench processor [--events N] [--rounds R] [--windows tumbling-count-sum,tumbling,hopping,session,session-no-live] [--clients confluent,platformatic] [--runtimes bun,node] [--workers 1,2,3]',
);
const N = Math.min(Number(args.events), 10_000_000);
const ROUNDS = Math.max(1, Math.min(Math.floor(Number(args.rounds)) || 1, 9));
const chosen = VARIANTS.filter((v) => args.windows.split(',').includes(v.name));
if (chosen.length === 0) {
  console.error(`--windows must name some of: ${VARIANTS.map((v) => v.name).join(', ')}`);
  process.exit(2);
}
const clientNames = KAFKA_CLIENTS.filter((name) => args.clients.split(',').includes(name));
if (clientNames.length === 0) {
  console.error(`--clients must name some of: ${KAFKA_CLIENTS.join(', ')}`);
  process.exit(2);
}
const runtimes = (['bun', 'node'] as const).filter((r) => args.runtimes.split(',').includes(r));
if (runtimes.length === 0) {
  console.error('--runtimes must name some of: bun, node');
  process.exit(2);
}
const fleetSizes = [...new Set(args.workers.split(',').map(Number))].filter(
  (n) => Number.isInteger(n) && n >= 1 && n <= 8,
);
if (fleetSizes.length === 0) {
  console.error('--workers must name fleet sizes from 1 to 8, e.g. 1,2,3');
  process.exit(2);
}
/** The runtimes a client runs on: librdkafka's addon loads in Node only. */
const runtimesOf = (client: KafkaClientName): readonly ('bun' | 'node')[] =>
  client === 'confluent' ? runtimes.filter((r) => r === 'node') : runtimes;
const stack = stackEnv();
// Filling (librdkafka, as ingest) and the client floors use the adapters in this process (Node).
const confluent = await kafkaClients('confluent');
const adapters = new Map<KafkaClientName, KafkaClients>();
for (const name of clientNames) adapters.set(name, await kafkaClients(name));

/**
 * Fills `prefix`ecommerce with N events over two hours of event time, in order within a few
 * seconds, keyed (and grouped) by `keyBy` as ingest would for a stream keyed so.
 */
async function fill(prefix: string, keyBy: Variant['keyBy']): Promise<string> {
  const topics = topicNames('ecommerce', prefix);
  const kafka = { brokers: stack.kafkaBrokers, clientId: 'bench-processor' };
  const admin = await confluent.admin(kafka);
  const ensured = await admin.ensureTopics(streamTopicSpecs([ecommerce], prefix));
  await admin.close();
  if (!ensured.ok) throw new Error(ensured.error.message);
  console.log(`sluice bench processor: filling ${topics.events} with ${N} events keyed by ${keyBy}...`);
  const producer = await confluent.producer({
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
      const key = data[keyBy];
      records.push({
        topic: topics.events,
        key,
        value: encodeEvent({
          id: data.transaction_id,
          stream: 'ecommerce',
          tenant: 'default',
          time: Date.parse(data.timestamp),
          receivedAt: time,
          key,
          data: { ...data },
        }),
      });
    }
    const sent = await producer.send(records);
    if (!sent.ok) throw new Error(sent.error.message);
  }
  await producer.close();
  return topics.events;
}

/**
 * A Kafka client alone (through the processor's adapter for it, its batch size and fetch
 * settings): CPU µs of this process per record, librdkafka's threads included, while it reads the
 * whole topic and does nothing with it. No worker on that client can cost less per event.
 */
async function clientFloorUs(topic: string, clients: KafkaClients): Promise<number> {
  const consumer = await clients.consumer({
    brokers: stack.kafkaBrokers,
    clientId: 'bench-client-floor',
    groupId: uniqueName('bench-client-floor'),
    topics: [topic],
    // The processor's defaults (SLUICE_MAX_BATCH, SLUICE_PARTITION_CONCURRENCY).
    maxBatchSize: 10_000,
    concurrency: 4,
  });
  let seen = 0;
  let cpuStart: NodeJS.CpuUsage | undefined;
  const read = new Promise<void>((resolve) => {
    void consumer.run({
      async onBatch(batch) {
        // From the first record on: joining the group and the first fetch's wait are not reading.
        cpuStart ??= process.cpuUsage();
        seen += batch.records.length;
        if (seen >= N) resolve();
      },
    });
  });
  try {
    await withinMs(read, 300_000, 'client floor: reading the topic');
    const cpu = process.cpuUsage(cpuStart);
    return (cpu.user + cpu.system) / seen;
  } finally {
    await consumer.close();
  }
}

interface Drained {
  readonly processed: number;
  readonly rows: number;
  readonly seconds: number;
  readonly cpu: number;
  readonly stolen: number;
  /** The highest peak resident set among the workers, MiB. */
  readonly rssMiB: number;
  readonly counted: number;
  readonly want: number;
}

/** `workers` workers in one fresh group drain the topic from the start (empty tables and claims). */
async function drainOnce(
  iso: Isolation,
  sql: postgres.Sql,
  variant: Variant,
  prefix: string,
  run: Run,
  round: number,
): Promise<Drained> {
  // Variants share the stream's name and window names: each starts from an empty table (the first
  // processor creates it).
  const [table] = await sql<{ name: string | null }[]>`select to_regclass('public.windows')::text as name`;
  if (table?.name != null) await sql`delete from windows`;
  const env = {
    ...iso.env,
    SLUICE_TOPIC_PREFIX: prefix,
    SLUICE_CONSUMER_GROUP: uniqueName(`bench-${variant.name}`),
    SLUICE_DEDUP_PREFIX: `${iso.env.SLUICE_DEDUP_PREFIX ?? 'sluice:dedup:'}${variant.name}:${run.client}:${run.runtime}:${run.workers}:${round}:`,
    SLUICE_STREAMS: 'ecommerce',
    ...(variant.module === undefined ? {} : { SLUICE_STREAMS_MODULE: `${ROOT}${variant.module}` }),
    SLUICE_IDLE_TIMEOUT_MS: '600000',
    SLUICE_KAFKA_CLIENT: run.client,
    ...variant.env,
  };
  // All the workers start together; the drain is timed from the moment each answers /healthz (a
  // rebalance while they join is part of what a fleet costs).
  const processors = await Promise.all(
    Array.from({ length: run.workers }, () => startService('processor', env, run.runtime)),
  );
  try {
    const pids = processors.map((p) => p.pid);
    if (pids.some((pid) => pid === undefined)) throw new Error('no pid for a processor');
    const cpuOf = async () => {
      let sum = 0;
      for (const pid of pids) if (pid !== undefined) sum += await cpuSeconds(pid);
      return sum;
    };
    const processedOf = async () => {
      let sum = 0;
      for (const p of processors) sum += await processedCount(p.url);
      return sum;
    };
    const cpuBefore = await cpuOf();
    const stealing = await stolenMeter();
    const started = performance.now();
    const want = N * variant.perEvent;
    const landed = async () => {
      const [row] = await sql<{ total: string | null; rows: number }[]>`
        select sum((values->>'count')::bigint)::text as total, count(*)::int as rows
        from windows where "window" = ${variant.window}`;
      return { counted: Number(row?.total ?? 0), rows: row?.rows ?? 0 };
    };
    // The drain is over when its counts are in PostgreSQL, polled there: a /metrics scrape costs the
    // worker ~2.6 ms of CPU, which at 10 per second was ~3 % of what this measures. The workers'
    // own counters are read every 2 s, so a run whose rows never add up still ends.
    let polls = 0;
    while (performance.now() - started < 900_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await landed()).counted >= want) break;
      polls += 1;
      if (polls % 20 === 0 && (await processedOf()) >= N) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = (await cpuOf()) - cpuBefore;
    const stolen = await stealing.share();
    const processed = await processedOf();
    let rssMiB = 0;
    for (const pid of pids) if (pid !== undefined) rssMiB = Math.max(rssMiB, await peakRssMiB(pid));
    return { processed, seconds, cpu, stolen, rssMiB, want, ...(await landed()) };
  } finally {
    await Promise.all(processors.map((p) => p.stop()));
  }
}

/** One configuration a variant is drained with. */
interface Run {
  readonly client: KafkaClientName;
  readonly runtime: 'bun' | 'node';
  readonly workers: number;
}

const runName = (run: Run) =>
  `${run.workers} worker${run.workers === 1 ? '' : 's'} on ${run.runtime}, Kafka client ${run.client}`;

/**
 * ROUNDS drains of one variant per configuration, each from the start: this machine's speed moves
 * by a fifth from minute to minute, so one drain is one sample, and the configurations alternate
 * within each round (bun, node, bun, node...) so a slow minute hits both. Prints each round, then
 * each configuration's median round (by CPU per event) with the range, then Bun against Node.
 */
async function drain(
  iso: Isolation,
  sql: postgres.Sql,
  variant: Variant,
  prefix: string,
  rawRate: number,
  runs: readonly Run[],
  floorUs: ReadonlyMap<KafkaClientName, number>,
) {
  console.log(`\n${variant.name}: draining (${runs.map(runName).join('; ')})...`);
  const results = new Map<Run, Drained[]>(runs.map((r) => [r, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const run of runs) {
      const drained = await drainOnce(iso, sql, variant, prefix, run, round);
      results.get(run)?.push(drained);
      const exact =
        drained.counted === drained.want ? 'exact' : `MISMATCH ${drained.counted} / ${drained.want}`;
      console.log(
        `  round ${round + 1}/${ROUNDS}, ${runName(run)}: ${Math.round(drained.processed / drained.cpu)} events/s per core used (${((drained.cpu * 1e6) / drained.processed).toFixed(1)} µs per event), ${Math.round(drained.processed / drained.seconds)} events/s, ${Math.round(drained.stolen * 100)} % stolen, ${exact}`,
      );
    }
  }
  const medians = new Map<Run, Drained>();
  for (const [run, drained] of results) {
    const perCore = drained.map((r) => r.processed / r.cpu).toSorted((a, b) => a - b);
    const median = drained.toSorted((a, b) => a.processed / a.cpu - b.processed / b.cpu)[
      Math.floor(ROUNDS / 2)
    ];
    if (median === undefined) continue;
    medians.set(run, median);
    const rate = median.processed / median.seconds;
    console.log(`\n${variant.name}, ${runName(run)}:`);
    printReport({
      'figures of the median round': `${Math.floor(ROUNDS / 2) + 1} of ${ROUNDS} by events/s per core`,
      'events drained': median.processed,
      'window rows': median.rows,
      'events/s (all workers)': Math.round(rate),
      'events/s per worker': Math.round(rate / run.workers),
      'worker CPU seconds (all workers)': median.cpu.toFixed(1),
      'events/s per core used': Math.round(median.processed / median.cpu),
      'events/s per core used, all rounds': perCore.map((x) => Math.round(x)).join(' / '),
      // Wall-clock rates fall with it; the per-core figure much less.
      'worker peak RSS MiB (target 256)': median.rssMiB.toFixed(0),
      'CPU stolen by the hypervisor meanwhile': `${Math.round(median.stolen * 100)} %`,
      'exactness (counted in windows / expected), every round': drained.every((r) => r.counted === r.want)
        ? `${median.counted} / ${median.want} (exact)`
        : 'MISMATCH (see the rounds above)',
      'worker CPU µs per event': ((median.cpu * 1e6) / median.processed).toFixed(1),
      [`of which the Kafka client alone (${run.client} on Node: consume, no work)`]: (
        floorUs.get(run.client) ?? Number.NaN
      ).toFixed(1),
      'raw consume records/s (ConsumerPerformance)': Math.round(rawRate),
      'ratio all workers / raw consume': Number((rate / rawRate).toFixed(3)),
    });
    if (drained.some((r) => r.counted !== r.want)) process.exitCode = 1;
  }
  // Bun against Node, and more workers against one, in the same run.
  for (const [run, median] of medians) {
    if (run.runtime !== 'bun') continue;
    const node = [...medians].find(
      ([r]) => r.runtime === 'node' && r.client === run.client && r.workers === run.workers,
    );
    if (node === undefined) continue;
    const [, other] = node;
    console.log(
      `  ${variant.name}, ${run.workers} worker(s), ${run.client}: Bun / Node CPU per event ${(median.cpu / median.processed / (other.cpu / other.processed)).toFixed(2)}, events/s ${(median.processed / median.seconds / (other.processed / other.seconds)).toFixed(2)}`,
    );
  }
  for (const [run, median] of medians) {
    if (run.workers === 1) continue;
    const one = [...medians].find(
      ([r]) => r.workers === 1 && r.client === run.client && r.runtime === run.runtime,
    );
    if (one === undefined) continue;
    const [, single] = one;
    console.log(
      `  ${variant.name}, ${runName(run)}: events/s ${(median.processed / median.seconds / (single.processed / single.seconds)).toFixed(2)}x one worker's`,
    );
  }
}

const iso = await isolate('bench-processor');
const sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
try {
  const filled = new Map<
    Variant['keyBy'],
    { prefix: string; rawRate: number; floorUs: Map<KafkaClientName, number> }
  >();
  for (const variant of chosen) {
    let topic = filled.get(variant.keyBy);
    if (topic === undefined) {
      const prefix = variant.keyBy === 'user_id' ? `${iso.topicPrefix}by-user.` : iso.topicPrefix;
      const events = await fill(prefix, variant.keyBy);
      console.log('measuring the raw consume rate (ConsumerPerformance, same topic)...');
      const rawRate = await rawConsumeRate(events, N);
      const floorUs = new Map<KafkaClientName, number>();
      for (const client of clientNames) {
        console.log(`measuring the ${client} client alone (same topic, records dropped)...`);
        const clients = adapters.get(client);
        if (clients !== undefined) floorUs.set(client, await clientFloorUs(events, clients));
      }
      topic = { prefix, rawRate, floorUs };
      filled.set(variant.keyBy, topic);
    }
    const runs = clientNames.flatMap((client) =>
      fleetSizes.flatMap((workers) => runtimesOf(client).map((runtime) => ({ client, runtime, workers }))),
    );
    await drain(iso, sql, variant, topic.prefix, topic.rawRate, runs, topic.floorUs);
  }
} finally {
  await sql.end();
  await iso.cleanup();
}
