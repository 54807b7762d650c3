// ./sluice bench e2e: the end-to-end benchmark. Starts ingest, the processor and query on a fresh
// topic prefix and database, drives ingest with k6 (batched POSTs of 100 events) for a fixed time,
// probes freshness (202 -> visible in the query API) meanwhile, then reports accepted and
// aggregated events/s, freshness p50/p99, exactness, and the raw Kafka produce rate of the Kafka
// perf tool from the same jars, measured in the same run, with the ratio between them (and, beside
// each run's machine CPU per event, the CPU per event half the raw rate would allow). Once per
// tracing setting (`--sampling`, default off, 100 % and 1 %: SLUICE_TRACE_SAMPLE_RATIO for every
// service, exporting to Jaeger), each on fresh services, topics and database, then the throughput
// of each against tracing off. And with auth on (`--auth-runs`, default 1, right after the first
// tracing-off run): ingest and query with SLUICE_AUTH=on and k6 sending a write key whose limits
// are far above the load, so every request is verified and admitted by Redis and its events
// counted into the tenant's usage: throughput and POST p99 against auth off (issue 21's target:
// at most 10 % of throughput and 0.5 ms of p99). `--via edge` sends k6 and the probes through an
// edge worker in front of ingest (its runtime from SLUICE_EDGE_RUNTIME, Deno by default), and then
// measures k6 against a bare Bun.serve that reads the same POSTs and answers what ingest answers:
// the edge's ratio to that floor.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { stackEnv, uniqueName } from '../shared/test/harness.ts';
import { createTestKey } from '../shared/test/keys.ts';
import { isolate, ROOT, startService } from '../shared/test/services.ts';
import { parseCliArgs } from '../tools/cli-args.ts';
import { startBareServer } from './bare-floor.ts';
import { cpuCensus, cpuPerUnit, MACHINE, stolenMeter } from './cpu-census.ts';
import { kafkaTool } from './kafka-tools.ts';
import { acceptedCount, cpuSeconds, printReport, processedCount } from './report.ts';

const { values: args } = parseCliArgs(
  {
    options: {
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '10' },
      vus: { type: 'string', default: '16' },
      'perf-records': { type: 'string', default: '1000000' },
      sampling: { type: 'string', default: '0,1,0.01' },
      'auth-runs': { type: 'string', default: '1' },
      via: { type: 'string', default: 'ingest' },
    },
  },
  './sluice bench e2e [--duration S] [--warmup S] [--vus N] [--perf-records N] [--sampling R,R,...] [--auth-runs N] [--via ingest|edge]',
);
if (args.via !== 'ingest' && args.via !== 'edge') {
  console.error('--via takes ingest or edge');
  process.exit(2);
}
const viaEdge = args.via === 'edge';
const samplings = args.sampling.split(',').map(Number);
if (samplings.some((r) => !(r >= 0 && r <= 1))) {
  console.error('--sampling takes ratios in [0, 1], comma-separated (0: tracing off)');
  process.exit(2);
}
const durationS = Math.min(Number(args.duration), 600);
const warmupS = Math.min(Math.max(Number(args.warmup), 0), 120);
if (!(durationS > 0) || Number.isNaN(warmupS)) {
  console.error('--duration takes seconds > 0 and --warmup seconds >= 0');
  process.exit(2);
}
const authRuns = Math.max(0, Math.min(Math.floor(Number(args['auth-runs'])) || 0, 5));
const stack = stackEnv();

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The Kafka perf tool from the same jars: raw acks=all idempotent produce rate on this machine. */
async function kafkaProduceRate(records: number): Promise<number> {
  const topic = uniqueName('bench-perf');
  await kafkaTool(
    'org.apache.kafka.tools.TopicCommand',
    '--bootstrap-server',
    stack.kafkaBrokers.join(','),
    '--create',
    '--topic',
    topic,
    '--partitions',
    '6',
  );
  try {
    const stdout = await kafkaTool(
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      '330',
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${stack.kafkaBrokers.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
      'linger.ms=5',
      'compression.type=lz4',
    );
    const last = stdout.trim().split('\n').at(-1) ?? '';
    const match = /([\d.]+) records\/sec/.exec(last);
    return Number(match?.[1] ?? Number.NaN);
  } finally {
    await kafkaTool(
      'org.apache.kafka.tools.TopicCommand',
      '--bootstrap-server',
      stack.kafkaBrokers.join(','),
      '--delete',
      '--topic',
      topic,
    ).catch(() => undefined);
  }
}

/** k6 with bench/e2e-load.js against `targetUrl` for `seconds`; resolves with its exit code. */
function runLoad(targetUrl: string, key: string | undefined, seconds: number, summaryPath: string) {
  const k6 = spawn(
    stack.k6Bin,
    ['run', '--quiet', '--no-usage-report', '--summary-export', summaryPath, `${ROOT}bench/e2e-load.js`],
    {
      env: {
        ...process.env,
        TARGET: targetUrl,
        ...(key === undefined ? {} : { API_KEY: key }),
        VUS: args.vus,
        DURATION: `${seconds}s`,
        K6_NO_USAGE_REPORT: 'true',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return new Promise<number | null>((resolve) => k6.once('exit', resolve));
}

interface K6Summary {
  readonly metrics: Record<string, { count?: number; 'p(99)'?: number }>;
}

/**
 * The edge's floor: the same k6 load against a bare Bun.serve that reads each POST and answers
 * what ingest answers (bench/bare-server.ts), for the measured duration. Events/s and POST p99.
 */
async function bareFloor(): Promise<{ rate: number; postP99: number; cpuPerEvent: number }> {
  const bare = await startBareServer(0, 202);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  try {
    const summaryPath = join(dir, 'summary.json');
    const cpuBefore = await cpuSeconds(bare.pid);
    await runLoad(bare.url, undefined, durationS, summaryPath);
    const cpu = (await cpuSeconds(bare.pid)) - cpuBefore;
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as K6Summary;
    const events = summary.metrics.sluice_accepted?.count ?? 0;
    return {
      rate: events / durationS,
      postP99: summary.metrics.http_req_duration?.['p(99)'] ?? Number.NaN,
      cpuPerEvent: events > 0 ? (cpu * 1e6) / events : Number.NaN,
    };
  } finally {
    bare.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

interface RunResult {
  readonly acceptedRate: number;
  /** k6's POST p99, ms. */
  readonly postP99: number;
  readonly exact: boolean;
  /** The edge's CPU µs per accepted event, when the run went through one. */
  readonly edgeCpuPerEvent: number | undefined;
  /** The whole machine's busy CPU µs per accepted event (every process, k6 included). */
  readonly machineCpuPerEvent: number | undefined;
}

/**
 * One load run on fresh services, topics and database, every service sampling at `ratio`; with
 * `auth`, every request carries a key with both scopes and limits far above the load.
 */
async function runOnce(ratio: number, auth: boolean): Promise<RunResult> {
  const iso = await isolate('bench');
  const key = auth
    ? (
        await createTestKey(iso.databaseUrl, {
          tenant: 'bench',
          scopes: ['events:write', 'windows:read'],
          name: 'bench',
          eventsPerSecond: 10_000_000,
          requestsPerSecond: 1_000_000,
        })
      ).key
    : undefined;
  // The edge relays for its callers with a key of its own (scope events:relay), as deployed.
  const relayKey =
    auth && viaEdge
      ? (
          await createTestKey(iso.databaseUrl, {
            tenant: 'bench',
            scopes: ['events:relay'],
            name: 'bench-edge',
          })
        ).key
      : undefined;
  const authHeaders: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  const env = {
    ...iso.env,
    SLUICE_IDLE_TIMEOUT_MS: '2000',
    SLUICE_TICK_MS: '250',
    SLUICE_LOG_LEVEL: 'warn',
    SLUICE_TRACE_SAMPLE_RATIO: String(ratio),
    SLUICE_AUTH: auth ? 'on' : 'off',
  };
  const ingest = await startService('ingest', env);
  const processor = await startService('processor', env);
  const query = await startService('query', { ...env, SLUICE_CACHE_PROVISIONAL_TTL_S: '1' });
  const edge = viaEdge
    ? await startService('edge', {
        ...env,
        SLUICE_INGEST_URL: ingest.url,
        ...(relayKey === undefined ? {} : { SLUICE_EDGE_INGEST_KEY: relayKey }),
      })
    : undefined;
  // Where k6 and the freshness probes send their events.
  const target = edge ?? ingest;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const sql = postgres(iso.databaseUrl, { max: 1 });
  try {
    console.log(
      `\nsluice bench e2e, tracing ${ratio === 0 ? 'off' : `at ${ratio * 100} %`}, auth ${auth ? 'on' : 'off'}: ${warmupS} s of warm-up then ${durationS} s of k6 (${args.vus} VUs, 100 events per POST) against ${edge === undefined ? 'ingest' : `the edge (in front of ingest)`} ${target.url}`,
    );
    const summaryPath = join(dir, 'summary.json');
    const services = new Map<number, string>();
    for (const service of [ingest, processor, query, ...(edge === undefined ? [] : [edge])])
      if (service.pid !== undefined) services.set(service.pid, service.name);
    const k6Done = runLoad(target.url, key, warmupS + durationS, summaryPath);
    let k6Running = true;
    void k6Done.then(() => {
      k6Running = false;
    });

    // The warm-up (OpenMessaging Benchmark's, JMH's): fresh services compile their hot paths, the
    // producer's batches and the consumer's fetches grow to the load. It is loaded like the rest
    // and counted for exactness, but the figures are of the steady state that follows.
    const warmupStarted = Date.now();
    await Promise.race([new Promise((resolve) => setTimeout(resolve, warmupS * 1000)), k6Done]);
    const acceptedAtStart = await acceptedCount(ingest.url);
    const warmupRate = acceptedAtStart / ((Date.now() - warmupStarted) / 1000);
    const processedAtStart = await processedCount(processor.url);
    const cpuBefore = await cpuCensus(services);
    const stealing = await stolenMeter();
    const started = Date.now();

    // Freshness probes: one event with a unique key, then poll the query API until its window shows it.
    const freshness: number[] = [];
    let probes = 0;
    while (k6Running) {
      const key = `probe-${probes++}`;
      const sentAt = Date.now();
      const res = await fetch(`${target.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders },
        body: JSON.stringify({
          stream: 'ecommerce',
          data: {
            transaction_id: `probe-${probes}`,
            user_id: 'probe',
            product_category: key,
            product_name: 'probe',
            amount: 1,
            timestamp: sentAt,
            payment_method: 'probe',
          },
        }),
      });
      if (res.status !== 202) continue;
      const ackedAt = Date.now();
      // The probe's own window and key only, so polling costs the query service (on the same two
      // cores as the pipeline) little; `to` moves by a millisecond per poll so each poll reads
      // PostgreSQL (a miss): what is measured is the pipeline, not the provisional cache's TTL.
      const windowStart = Math.floor(sentAt / 60_000) * 60_000;
      for (let poll = 1; ; poll++) {
        const params = new URLSearchParams({
          from: String(windowStart),
          to: String(windowStart + 60_000 + poll),
          filter: `product_category=${key}`,
        });
        const body = (await (
          await fetch(`${query.url}/v1/streams/ecommerce/windows?${params}`, { headers: authHeaders })
        ).json()) as {
          data: { key: string }[];
        };
        if (body.data.some((r) => r.key === key)) break;
        if (Date.now() - ackedAt > 60_000) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      freshness.push(Date.now() - ackedAt);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await k6Done;
    const loadSeconds = (Date.now() - started) / 1000;
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as K6Summary;
    const postP99 = summary.metrics.http_req_duration?.['p(99)'] ?? Number.NaN;
    // Every event of the run (warm-up included) is checked for exactness; the rates are of the
    // measured window only, from ingest's own counter (what it answered 202 for).
    const accepted = (summary.metrics.sluice_accepted?.count ?? 0) + probes;
    const refused = summary.metrics.sluice_refused?.count ?? 0;
    const acceptedInWindow = (await acceptedCount(ingest.url)) - acceptedAtStart;

    // Aggregated: when did the processor finish the accepted events?
    let processed = await processedCount(processor.url);
    while (processed < accepted && Date.now() - started < (durationS + 300) * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      processed = await processedCount(processor.url);
    }
    const aggregatedSeconds = (Date.now() - started) / 1000;
    const cpuAfter = await cpuCensus(services);
    const stolen = await stealing.share();
    // Exactness: once every window settled, the counts in PostgreSQL add up to what was accepted.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const [row] = await sql<
      { total: string | null }[]
    >`select sum((values->>'count')::bigint)::text as total from windows`;
    const aggregated = Number(row?.total ?? 0);

    const sortedFresh = [...freshness].sort((a, b) => a - b);
    const acceptedRate = acceptedInWindow / loadSeconds;
    const report = {
      'events accepted (warm-up included)': accepted,
      'events refused (non-202)': refused,
      [`accepted events/s in the ${warmupS} s warm-up (not counted)`]: Math.round(warmupRate),
      [`accepted events/s (the ${durationS} s after it)`]: Math.round(acceptedRate),
      'aggregated events/s (same window, until all aggregated)': Math.round(
        (processed - processedAtStart) / aggregatedSeconds,
      ),
      'freshness p50 ms (202 -> visible in query API)': quantile(sortedFresh, 0.5),
      'freshness p99 ms': quantile(sortedFresh, 0.99),
      'freshness probes': freshness.length,
      'k6 POST p99 ms (100 events a POST)': Number(postP99.toFixed(2)),
      'exactness (aggregated / accepted)': `${aggregated} / ${accepted}${aggregated === accepted ? ' (exact)' : ' (MISMATCH)'}`,
      // Wall-clock rates fall with it; CPU time per event (below) much less.
      'CPU stolen by the hypervisor meanwhile': `${Math.round(100 * stolen)} %`,
    };
    printReport(report);
    // Per event accepted in the window; the processor's backlog at its start is charged to it too.
    console.log('  CPU µs per accepted event, by process (end of warm-up -> all aggregated):');
    const perEvent = cpuPerUnit(cpuBefore, cpuAfter, acceptedInWindow);
    printReport(Object.fromEntries(perEvent.map(([l, us]) => [`  ${l}`, us])));
    const edgeCpuPerEvent = perEvent.find(([label]) => label === 'edge')?.[1];
    const machineCpuPerEvent = perEvent.find(([label]) => label === MACHINE)?.[1];
    return { acceptedRate, postP99, exact: aggregated === accepted, edgeCpuPerEvent, machineCpuPerEvent };
  } finally {
    await Promise.allSettled([ingest.stop(), processor.stop(), query.stop(), edge?.stop()]);
    await sql.end();
    await iso.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

// A list, not a map: the same setting may be asked for more than once (`--sampling 0,0`). The auth
// runs come right after the first tracing-off run, so the machine's drift falls on both alike.
const plan: { ratio: number; auth: boolean }[] = samplings.map((ratio) => ({ ratio, auth: false }));
const firstOff = plan.findIndex((p) => p.ratio === 0);
const authPlan = Array.from({ length: authRuns }, () => ({ ratio: 0, auth: true }));
if (firstOff >= 0) plan.splice(firstOff + 1, 0, ...authPlan);
else plan.unshift({ ratio: 0, auth: false }, ...authPlan);
const results: { ratio: number; auth: boolean; result: RunResult }[] = [];
for (const { ratio, auth } of plan) results.push({ ratio, auth, result: await runOnce(ratio, auth) });
console.log(
  '\nmeasuring the raw Kafka produce rate (ProducerPerformance, acks=all, idempotent, same broker)...',
);
const raw = await kafkaProduceRate(Number(args['perf-records']));
if (viaEdge)
  console.log('\nmeasuring the bare floor (k6, same load, against Bun.serve answering as ingest does)...');
const bare = viaEdge ? await bareFloor() : undefined;
const offRuns = results.filter((r) => r.ratio === 0 && !r.auth).map((r) => r.result);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const offRate = mean(offRuns.map((r) => r.acceptedRate));
const offP99 = mean(offRuns.map((r) => r.postP99));
// What bounds the ratio on a machine the run keeps busy: half the raw rate leaves every process of
// the pipeline (and k6) this much CPU per event, all cores together.
const halfRawBudget = (availableParallelism() * 1e6) / (0.5 * raw);
const summary: Record<string, string | number> = {
  'raw Kafka produce records/s (perf tool)': Math.round(raw),
  [`machine CPU µs per event that half the raw rate allows (${availableParallelism()} cores)`]: Number(
    halfRawBudget.toFixed(1),
  ),
};
for (const [index, { ratio, auth, result }] of results.entries()) {
  const label = `run ${index + 1}, ${ratio === 0 ? 'tracing off' : `tracing at ${ratio * 100} %`}${auth ? ', auth on' : ''}`;
  summary[`${label}: accepted events/s`] = Math.round(result.acceptedRate);
  summary[`${label}: POST p99 ms`] = Number(result.postP99.toFixed(2));
  summary[`${label}: ratio to raw Kafka`] = Number((result.acceptedRate / raw).toFixed(3));
  if (result.machineCpuPerEvent !== undefined)
    summary[`${label}: machine CPU µs per event`] = result.machineCpuPerEvent;
  if (offRuns.length > 0 && ratio !== 0)
    summary[`${label}: ratio to tracing off`] = Number((result.acceptedRate / offRate).toFixed(3));
  if (offRuns.length > 0 && auth) {
    summary[`${label}: ratio to auth off`] = Number((result.acceptedRate / offRate).toFixed(3));
    summary[`${label}: POST p99 minus auth off, ms`] = Number((result.postP99 - offP99).toFixed(2));
  }
}
if (bare !== undefined) {
  summary['bare Bun.serve floor: events/s (k6, same load)'] = Math.round(bare.rate);
  summary['bare Bun.serve floor: POST p99 ms'] = Number(bare.postP99.toFixed(2));
  summary['bare Bun.serve floor: server CPU µs per event'] = Number(bare.cpuPerEvent.toFixed(2));
  for (const [index, { ratio, auth, result }] of results.entries()) {
    const label = `run ${index + 1}, ${ratio === 0 ? 'tracing off' : `tracing at ${ratio * 100} %`}${auth ? ', auth on' : ''}`;
    summary[`${label}: edge's ratio to the bare floor`] = Number(
      (result.acceptedRate / bare.rate).toFixed(3),
    );
    // The edge's own cost, apart from the pipeline behind it: its CPU per event against the floor's.
    if (result.edgeCpuPerEvent !== undefined)
      summary[`${label}: edge CPU per event / the floor's`] = Number(
        (result.edgeCpuPerEvent / bare.cpuPerEvent).toFixed(1),
      );
  }
}
console.log('\nsummary (same machine, same run):');
printReport(summary);
if (results.some((r) => !r.result.exact)) process.exitCode = 1;
