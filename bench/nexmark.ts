// ./sluice bench nexmark: the Nexmark queries sluice's model expresses (bench/nexmark/queries.ts),
// each drained by one processor worker with exactly-once on from topics filled before timing, as
// Flink's Nexmark suite measures them. The generator (bench/nexmark/generator.ts) makes --events
// events (people, auctions and bids, 1 : 3 : 46) with event times at --rate events/s; people and
// auctions go to their own topics, bids to one bid topic per grouping key (all, auction, bidder),
// keyed as ingest keys a stream so grouped. For each query and round: bids/s per core used by the
// worker (its CPU from /proc), its peak RSS, the rows it wrote checked one by one against rows the
// bench computes itself (bench/nexmark/expected.ts), beside Flink's published figure per core and
// the raw consume rate of Kafka's ConsumerPerformance on the bid topic in the same run.

import { withinMs } from '@sluice/shared/deadline';
import { encodeEvent } from '@sluice/shared/events/envelope';
import { groupKey } from '@sluice/shared/events/validate';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import { KAFKA_CLIENTS } from '@sluice/shared/kafka/options';
import type { OutgoingRecord } from '@sluice/shared/kafka/port';
import { topicNames } from '@sluice/shared/streams/registry';
import { streamTopicSpecs } from '@sluice/shared/streams/topics';
import postgres from 'postgres';
import { stackEnv, uniqueName } from '../shared/test/harness.ts';
import type { Isolation } from '../shared/test/services.ts';
import { deleteRedisKeys, isolate, ROOT, startService } from '../shared/test/services.ts';
import { parseCliArgs } from '../tools/cli-args.ts';
import { stolenMeter } from './cpu-census.ts';
import { rawConsumeRate } from './kafka-tools.ts';
import type { BidColumns, Rows } from './nexmark/expected.ts';
import { differences, expectedRows, rowId } from './nexmark/expected.ts';
import { nexmarkGenerator } from './nexmark/generator.ts';
import type { GroupBy, NexmarkQuery } from './nexmark/queries.ts';
import { BID_STREAM, bidStream, QUERIES } from './nexmark/queries.ts';
import { cpuSeconds, peakRssMiB, printReport } from './report.ts';

const { values: args } = parseCliArgs(
  {
    options: {
      events: { type: 'string', default: '2000000' },
      rate: { type: 'string', default: '10000000' },
      rounds: { type: 'string', default: '3' },
      queries: { type: 'string', default: QUERIES.map((q) => q.name).join(',') },
      runtime: { type: 'string', default: 'bun' },
      client: { type: 'string', default: 'platformatic' },
    },
  },
  './sluice bench nexmark [--events N] [--rate events/s of event time] [--rounds R] [--queries q0,q5,q7,q11,q12] [--runtime bun|node] [--client platformatic|confluent]',
);
const EVENTS = Math.max(1000, Math.min(Math.floor(Number(args.events)) || 0, 20_000_000));
const RATE = Math.max(1, Math.min(Number(args.rate) || 0, 100_000_000));
const ROUNDS = Math.max(1, Math.min(Math.floor(Number(args.rounds)) || 1, 9));
const chosen = QUERIES.filter((q) => args.queries.split(',').includes(q.name));
const runtime = (['bun', 'node'] as const).find((r) => r === args.runtime);
const client = KAFKA_CLIENTS.find((c) => c === args.client);
if (chosen.length === 0 || runtime === undefined || client === undefined) {
  console.error(
    `--queries must name some of ${QUERIES.map((q) => q.name).join(', ')}; --runtime bun or node; --client ${KAFKA_CLIENTS.join(' or ')}`,
  );
  process.exit(2);
}
if (client === 'confluent' && runtime === 'bun') {
  console.error("--client confluent runs on Node only (librdkafka's addon): add --runtime node");
  process.exit(2);
}
const stack = stackEnv();
const confluent = await kafkaClients('confluent');
const kafka = { brokers: stack.kafkaBrokers, clientId: 'bench-nexmark' };

/** The events, generated once: bids kept as columns (for the expected rows) and as payloads. */
function generate() {
  const next = nexmarkGenerator({ rate: RATE, baseTime: Date.now() - 3_600_000, seed: 42 });
  const bids: Record<string, unknown>[] = [];
  const others: { topic: 'person' | 'auction'; id: number; value: Record<string, unknown> }[] = [];
  for (let n = 0; n < EVENTS; n++) {
    const event = next(n);
    if (event.kind === 'bid') bids.push({ ...event.bid });
    else if (event.kind === 'person') others.push({ topic: 'person', id: n, value: { ...event.person } });
    else others.push({ topic: 'auction', id: n, value: { ...event.auction } });
  }
  const columns: BidColumns = {
    auction: Float64Array.from(bids, (b) => Number(b.auction)),
    bidder: Float64Array.from(bids, (b) => Number(b.bidder)),
    price: Float64Array.from(bids, (b) => Number(b.price)),
    time: Float64Array.from(bids, (b) => Number(b.dateTime)),
    length: bids.length,
  };
  return { bids, others, columns };
}

/** Sends `count` records, made 10,000 at a time (the whole topic at once would not fit the heap). */
async function send(count: number, record: (i: number) => OutgoingRecord): Promise<void> {
  const producer = await confluent.producer({
    ...kafka,
    deliveryTimeoutMs: 60_000,
    maxQueuedRecords: 200_000,
  });
  try {
    for (let i = 0; i < count; i += 10_000) {
      const chunk: OutgoingRecord[] = [];
      for (let j = i; j < Math.min(count, i + 10_000); j++) chunk.push(record(j));
      const sent = await producer.send(chunk);
      if (!sent.ok) throw new Error(sent.error.message);
    }
  } finally {
    await producer.close();
  }
}

/** Fills the bid topic under `prefix`, keyed as ingest keys a stream grouped by `groupBy`. */
async function fillBids(prefix: string, query: NexmarkQuery, bids: readonly Record<string, unknown>[]) {
  const stream = bidStream(query);
  const admin = await confluent.admin(kafka);
  const ensured = await admin.ensureTopics(streamTopicSpecs([stream], prefix));
  await admin.close();
  if (!ensured.ok) throw new Error(ensured.error.message);
  const topic = topicNames(BID_STREAM, prefix).events;
  const receivedAt = Date.now();
  await send(bids.length, (i) => {
    const data = bids[i] ?? {};
    const key = groupKey(stream, data);
    return {
      topic,
      key,
      value: encodeEvent({
        id: `bid-${i}`,
        stream: BID_STREAM,
        tenant: 'default',
        time: Number(data.dateTime),
        receivedAt,
        key,
        data,
      }),
    };
  });
  return topic;
}

/** People and auctions, on their own topics: generated as the suite does, read by no query here. */
async function fillOthers(prefix: string, others: ReturnType<typeof generate>['others']) {
  const admin = await confluent.admin(kafka);
  const ensured = await admin.ensureTopics(
    ['person', 'auction'].map((kind) => ({ topic: `${prefix}nexmark-${kind}`, partitions: 6, configs: {} })),
  );
  await admin.close();
  if (!ensured.ok) throw new Error(ensured.error.message);
  await send(others.length, (i) => {
    const o = others[i];
    if (o === undefined) throw new Error(`no event ${i}`);
    return { topic: `${prefix}nexmark-${o.topic}`, key: String(o.value.id), value: JSON.stringify(o.value) };
  });
}

interface Round {
  readonly bids: number;
  readonly seconds: number;
  readonly cpu: number;
  readonly rssMiB: number;
  readonly stolen: number;
  readonly rows: number;
  readonly wrong: readonly string[];
}

/** The rows the processor wrote for the query's window, as `key start end` to count or max. */
async function writtenRows(sql: postgres.Sql, query: NexmarkQuery): Promise<Rows> {
  const valueName = query.aggregations[0]?.name ?? 'count';
  const rows = await sql<{ key: string; start: string; end: string; value: string | null }[]>`
    select key, (extract(epoch from window_start) * 1000)::bigint::text as start,
      (extract(epoch from window_end) * 1000)::bigint::text as "end", values->>${valueName} as value
    from windows where stream = ${BID_STREAM} and "window" = ${query.window.name}`;
  return new Map(rows.map((r) => [rowId(r.key, Number(r.start), Number(r.end)), Number(r.value)]));
}

/** One worker drains the bid topic from the start into empty tables, timed until it committed all. */
async function drainOnce(
  iso: Isolation,
  sql: postgres.Sql,
  query: NexmarkQuery,
  prefix: string,
  topic: string,
  want: Rows,
  bids: number,
  round: number,
): Promise<Round> {
  const [table] = await sql<{ name: string | null }[]>`select to_regclass('public.windows')::text as name`;
  if (table?.name != null) await sql`delete from windows`;
  const group = uniqueName(`bench-nexmark-${query.name}`);
  const env = {
    ...iso.env,
    SLUICE_TOPIC_PREFIX: prefix,
    SLUICE_CONSUMER_GROUP: group,
    SLUICE_DEDUP_PREFIX: `${iso.env.SLUICE_DEDUP_PREFIX ?? 'sluice:dedup:'}${query.name}:${round}:`,
    SLUICE_STREAMS: BID_STREAM,
    SLUICE_STREAMS_MODULE: `${ROOT}bench/nexmark/queries.ts`,
    NEXMARK_QUERY: query.name,
    SLUICE_IDLE_TIMEOUT_MS: '600000',
    SLUICE_KAFKA_CLIENT: client ?? 'platformatic',
    SLUICE_STATE_PREFIX: `${iso.env.SLUICE_STATE_PREFIX ?? 'sluice:state:'}${query.name}:${round}:`,
  };
  const processor = await startService('processor', env, runtime);
  try {
    const pid = processor.pid;
    if (pid === undefined) throw new Error('no pid for the processor');
    const cpuBefore = await cpuSeconds(pid);
    const stealing = await stolenMeter();
    const started = performance.now();
    // Done when the worker's committed offsets (written in the same PostgreSQL transaction as the
    // rows, guarantee 2) cover every bid: one cheap query, no scrape of the worker.
    const committed = async () => {
      const [row] = await sql<{ n: string | null }[]>`
        select sum(next_offset)::text as n from source_offsets
        where consumer_group = ${group} and topic = ${topic}`;
      return Number(row?.n ?? 0);
    };
    await withinMs(
      (async () => {
        while ((await committed()) < bids) await new Promise((resolve) => setTimeout(resolve, 100));
      })(),
      900_000,
      `${query.name}: draining ${bids} bids`,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    const rssMiB = await peakRssMiB(pid);
    const stolen = await stealing.share();
    const got = await writtenRows(sql, query);
    return { bids, seconds, cpu, rssMiB, stolen, rows: got.size, wrong: differences(want, got) };
  } finally {
    await processor.stop();
    // Each round's claims and working state go with it: 2M claims a round would otherwise fill
    // Redis within a run (its noeviction limit makes the worker stall, as it should).
    await deleteRedisKeys(stack.redisUrl, `${env.SLUICE_DEDUP_PREFIX}*`);
    await deleteRedisKeys(stack.redisUrl, `${env.SLUICE_STATE_PREFIX}*`);
  }
}

const median = (xs: readonly number[]) =>
  xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const iso = await isolate('bench-nexmark');
const sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
const summary: string[] = [];
try {
  console.log(`sluice bench nexmark: generating ${EVENTS} events at ${RATE} events/s of event time...`);
  const generated = generate();
  const { bids, columns } = generated;
  const span = ((columns.time[columns.length - 1] ?? 0) - (columns.time[0] ?? 0)) / 1000;
  console.log(
    `  ${bids.length} bids, ${generated.others.length} people and auctions, ${span.toFixed(1)} s of event time`,
  );
  await fillOthers(iso.topicPrefix, generated.others);
  const topics = new Map<GroupBy, { prefix: string; topic: string }>();
  let rawRate = Number.NaN;
  for (const query of chosen) {
    let filled = topics.get(query.groupBy);
    if (filled === undefined) {
      const prefix = `${iso.topicPrefix}${query.groupBy}.`;
      console.log(`filling the bid topic keyed by ${query.groupBy}...`);
      filled = { prefix, topic: await fillBids(prefix, query, bids) };
      topics.set(query.groupBy, filled);
      if (Number.isNaN(rawRate)) {
        console.log('measuring the raw consume rate (ConsumerPerformance, bid topic)...');
        rawRate = await rawConsumeRate(filled.topic, bids.length);
      }
    }
    const want = expectedRows(query, columns);
    console.log(
      `\n${query.name} (${query.window.name} by ${query.groupBy}, ${want.size} rows expected): draining...`,
    );
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = await drainOnce(iso, sql, query, filled.prefix, filled.topic, want, bids.length, round);
      rounds.push(r);
      console.log(
        `  round ${round + 1}/${ROUNDS}: ${Math.round(r.bids / r.cpu)} bids/s per core used (${((r.cpu * 1e6) / r.bids).toFixed(1)} µs per bid), ${Math.round(r.bids / r.seconds)} bids/s, peak RSS ${r.rssMiB.toFixed(0)} MiB, ${Math.round(r.stolen * 100)} % stolen, ${r.wrong.length === 0 ? `exact (${r.rows} rows)` : `WRONG: ${r.wrong.join('; ')}`}`,
      );
    }
    const perCore = rounds.map((r) => r.bids / r.cpu);
    const mid = median(perCore);
    const exact = rounds.every((r) => r.wrong.length === 0);
    if (!exact) process.exitCode = 1;
    printReport({
      'bids/s per core used (median)': Math.round(mid),
      'all rounds': perCore.map((x) => Math.round(x)).join(' / '),
      'bids/s wall clock (median)': Math.round(median(rounds.map((r) => r.bids / r.seconds))),
      "Flink's published per core": query.flinkPerCore,
      'ratio to Flink (target 2)': Number((mid / query.flinkPerCore).toFixed(2)),
      'raw consume records/s (ConsumerPerformance, same run)': Math.round(rawRate),
      'worker peak RSS MiB (highest round)': Math.max(...rounds.map((r) => r.rssMiB)).toFixed(0),
      'CPU stolen (median)': `${Math.round(median(rounds.map((r) => r.stolen)) * 100)} %`,
      'exactness, every round': exact ? `exact (${want.size} rows)` : 'WRONG (see the rounds above)',
    });
    summary.push(
      `  ${query.name.padEnd(4)} ${String(Math.round(mid)).padStart(8)} /core  Flink ${String(query.flinkPerCore).padStart(7)}  ${(mid / query.flinkPerCore).toFixed(2)}x  ${exact ? 'exact' : 'WRONG'}`,
    );
  }
  console.log(
    `\nsummary (${runtime}, ${client}, ${bids.length} bids, raw consume ${Math.round(rawRate)} records/s):\n${summary.join('\n')}`,
  );
} finally {
  await sql.end();
  await iso.cleanup();
}
