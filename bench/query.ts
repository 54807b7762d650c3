// ./sluice bench query: k6 against the query service (on Bun) over a week of seeded 1-minute
// ecommerce windows (6 categories; 60,480 rows, settled), at a constant arrival rate with a
// realistic mix: hot ranges (cache hits), conditional requests (304) and cold random ranges
// (misses that read PostgreSQL). Prints achieved req/s and p50/p99 latency per outcome, beside
// the HTTP floors measured in the same run: nginx and a bare Bun.serve answering a constant, and
// GET /healthz of the same server, at the same rate. The cached run is repeated (--rounds) and its
// median round reported: this machine's speed moves from minute to minute.
// The targets (issue 27), as ratios in one run: cached p99 at most 1.3x the answer-sized bare
// floor's; the mix sustained at 5,000 req/s with misses at p99 at most 250 ms and hot hits at p99
// at most 1.3x those of the same load with the misses asked as hot ranges (a miss does not queue
// the hits behind it). The mix runs twice by default (--mix-runs): the first meets the service's
// kept hours (bucket-rows.ts) cold.
//
// k6 runs at a lower CPU priority (--k6-nice, 10 by default; 0 to run it beside the servers as an
// equal), for every run alike. k6 spends ~0.17 ms of CPU per request, about a core at 5,000 req/s:
// at equal priority a server's request waits behind k6's bursts, and the p99 measures the two
// sharing cores more than the server. A load generator on a machine of its own, which is what
// the niceness stands in for, does not take the server's cores; k6 still times every request
// from send to last byte.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { topicNames } from '@sluice/shared/streams/registry';
import type { SeededRow } from '../query/test/seed-windows.ts';
import { writeWindows } from '../query/test/seed-windows.ts';
import { stackEnv } from '../shared/test/harness.ts';
import { createTestKey } from '../shared/test/keys.ts';
import { isolate, ROOT, startService } from '../shared/test/services.ts';
import { parseCliArgs } from '../tools/cli-args.ts';
import { CATEGORIES, seededRandom } from '../tools/ecommerce-data.ts';
import { startBareServer } from './bare-floor.ts';
import { cpuCensus, stolenMeter } from './cpu-census.ts';
import { startNativeFloor } from './native-floor.ts';
import { cpuSeconds } from './report.ts';

const { values: args } = parseCliArgs(
  {
    options: {
      rate: { type: 'string', default: '5000' },
      duration: { type: 'string', default: '20' },
      days: { type: 'string', default: '7' },
      rounds: { type: 'string', default: '3' },
      'k6-nice': { type: 'string', default: '10' },
      'auth-rounds': { type: 'string', default: '2' },
      'mix-runs': { type: 'string', default: '2' },
    },
  },
  './sluice bench query [--rate N] [--duration S] [--days N] [--rounds R] [--k6-nice N] [--auth-rounds R] [--mix-runs R]',
);
const rate = Math.min(Number(args.rate), 50_000);
const durationS = Math.min(Number(args.duration), 300);
const days = Math.min(Number(args.days), 30);
const rounds = Math.max(1, Math.min(Math.floor(Number(args.rounds)) || 1, 9));
const k6Nice = Math.max(0, Math.min(Math.floor(Number(args['k6-nice'])) || 0, 19));
const authRounds = Math.max(0, Math.min(Math.floor(Number(args['auth-rounds'])) || 0, 9));
const mixRuns = Math.max(1, Math.min(Math.floor(Number(args['mix-runs'])) || 1, 9));
/** Issue 27's bounds: cached p99 against the answer-sized floor, misses' p99, hits beside misses. */
const MAX_CACHED_TO_FLOOR = 1.3;
const MAX_MISS_P99_MS = 250;
const MAX_MIX_HIT_TO_WITHOUT_MISSES = 1.3;
const stack = stackEnv();

interface TrendSummary {
  'p(50)': number;
  'p(99)': number;
  count: number;
}
interface Summary {
  metrics: Record<string, (TrendSummary & { count: number }) | undefined>;
}

/** A floor server run by k6 at the bench's rate. */
async function floorRun(env: Record<string, string>, bytes = 0): Promise<Run> {
  const server = await startBareServer(bytes);
  try {
    return await runK6({ ...env, TARGET: server.url, MODE: 'baseline' }, server.pid);
  } finally {
    server.stop();
  }
}

interface Run {
  readonly summary: Summary;
  /** CPU seconds the server and k6 used during the run (user + system). */
  readonly serverCpu: number;
  readonly k6Cpu: number;
  /** CPU seconds PostgreSQL and Redis used during the run (every process of each). */
  readonly stackCpu: { readonly postgres: number; readonly redis: number };
  /** The share of the machine's CPU the hypervisor took meanwhile (0 to 1). */
  readonly stolen: number;
}

/** One k6 run against `serverPid`'s server, with both processes' CPU time over it. */
async function runK6(env: Record<string, string>, serverPid: number): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-query-'));
  try {
    const summaryPath = join(dir, 'summary.json');
    const serverBefore = await cpuSeconds(serverPid);
    const stackBefore = await cpuCensus(new Map());
    const stealing = await stolenMeter();
    const k6Args = [
      'run',
      '--quiet',
      '--no-usage-report',
      '--summary-export',
      summaryPath,
      `${ROOT}bench/query-load.js`,
    ];
    // nice execs k6 in its own process: the pid sampled below is k6's.
    const k6 = spawn(
      k6Nice > 0 ? 'nice' : stack.k6Bin,
      k6Nice > 0 ? ['-n', String(k6Nice), stack.k6Bin, ...k6Args] : k6Args,
      {
        // A larger GC target: k6 is a guest on the cores it measures, so it spends less of them.
        env: { ...process.env, ...env, K6_NO_USAGE_REPORT: 'true', GOGC: '400' },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    // k6's /proc entry is gone once it exits: its CPU is the last reading before that.
    let k6Cpu = 0;
    const sampler = setInterval(() => {
      if (k6.pid !== undefined)
        cpuSeconds(k6.pid).then(
          (seconds) => (k6Cpu = seconds),
          () => {},
        );
    }, 200);
    await new Promise((resolve) => k6.once('exit', resolve));
    clearInterval(sampler);
    const serverCpu = (await cpuSeconds(serverPid)) - serverBefore;
    const stackAfter = await cpuCensus(new Map());
    const spent = (label: string) => (stackAfter.get(label) ?? 0) - (stackBefore.get(label) ?? 0);
    const stolen = await stealing.share();
    return {
      summary: JSON.parse(await readFile(summaryPath, 'utf8')) as Summary,
      serverCpu,
      k6Cpu,
      stackCpu: { postgres: spent('postgres'), redis: spent('redis') },
      stolen,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Auth on against auth off (issue 21's target: at most 10 % of throughput, at most 0.5 ms of p99):
 * a second query service on the same data with SLUICE_AUTH=on, asked with a read key (auth alone)
 * and with a read key whose requests-per-second limit is far above the rate (auth and rate
 * limiting: every request verified and admitted against its shared budget). Cached rounds
 * alternate off, on, on-limited, off... so the machine's drift falls on all alike. At a constant arrival rate both usually keep up:
 * the throughput cost shows as server CPU per request (its inverse is the capacity on one core).
 */
async function authComparison(
  env: Record<string, string>,
  authOff: { url: string; pid: number | undefined },
  line: (name: string, t: TrendSummary | undefined) => string,
  cpu: (run: Run) => string,
  achieved: (run: Run) => number,
): Promise<void> {
  const plain = await createTestKey(iso.databaseUrl, {
    tenant: 'default',
    scopes: ['windows:read'],
    name: 'bench',
  });
  const limited = await createTestKey(iso.databaseUrl, {
    tenant: 'default',
    scopes: ['windows:read'],
    name: 'bench-limited',
    requestsPerSecond: 1_000_000,
  });
  const authOn = await startService('query', {
    ...iso.env,
    SLUICE_LOG_LEVEL: 'warn',
    SLUICE_TRACE_SAMPLE_RATIO: '0',
    SLUICE_AUTH: 'on',
  });
  type Setting = 'auth off' | 'auth on' | 'auth on, rate-limited key';
  try {
    // The auth-off service has answered every run above; this one is new: a warm-up run first
    // (not counted), as the main runs had the floors before them.
    await runK6({ ...env, TARGET: authOn.url, MODE: 'cached', API_KEY: plain.key }, authOn.pid ?? 0);
    await runK6({ ...env, TARGET: authOn.url, MODE: 'cached', API_KEY: limited.key }, authOn.pid ?? 0);
    const runs: { setting: Setting; run: Run }[] = [];
    for (let round = 0; round < authRounds; round += 1) {
      runs.push({
        setting: 'auth off',
        run: await runK6({ ...env, TARGET: authOff.url, MODE: 'cached' }, authOff.pid ?? 0),
      });
      runs.push({
        setting: 'auth on',
        run: await runK6({ ...env, TARGET: authOn.url, MODE: 'cached', API_KEY: plain.key }, authOn.pid ?? 0),
      });
      runs.push({
        setting: 'auth on, rate-limited key',
        run: await runK6(
          { ...env, TARGET: authOn.url, MODE: 'cached', API_KEY: limited.key },
          authOn.pid ?? 0,
        ),
      });
    }
    console.log(`\n  auth on against auth off, cached only, ${authRounds} alternating round(s) each:`);
    for (const { setting, run } of runs) {
      console.log(
        `\n  ${setting}: ${achieved(run).toFixed(0)} req/s (asked ${rate}), failed ${run.summary.metrics.sluice_failed?.count ?? 0}; ${cpu(run)}`,
      );
      console.log(line('cache hit (200)', run.summary.metrics.sluice_hit));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const of = (setting: Setting) => runs.filter((r) => r.setting === setting).map((r) => r.run);
    const p99 = (run: Run) => run.summary.metrics.sluice_hit?.['p(99)'] ?? Number.NaN;
    const cpuPerRequest = (run: Run) =>
      run.serverCpu /
      Math.max(
        1,
        ['sluice_hit', 'sluice_not_modified', 'sluice_miss'].reduce(
          (sum, k) => sum + (run.summary.metrics[k]?.count ?? 0),
          0,
        ),
      );
    const off = of('auth off');
    for (const setting of ['auth on', 'auth on, rate-limited key'] as const) {
      const on = of(setting);
      const throughputRatio = mean(on.map(achieved)) / mean(off.map(achieved));
      const capacityRatio = mean(off.map(cpuPerRequest)) / mean(on.map(cpuPerRequest));
      const p99Delta = mean(on.map(p99)) - mean(off.map(p99));
      const met = throughputRatio >= 0.9 && capacityRatio >= 0.9 && p99Delta <= 0.5;
      console.log(
        `\n  ${setting} / auth off: throughput ${throughputRatio.toFixed(3)}, capacity (inverse server CPU per request) ${capacityRatio.toFixed(3)}, hit p99 ${p99Delta >= 0 ? '+' : ''}${p99Delta.toFixed(2)} ms; target (at most 10 % of throughput, at most 0.5 ms of p99) ${met ? 'met' : 'not met'}`,
      );
    }
  } finally {
    await authOn.stop();
  }
}

const iso = await isolate('bench-query');
const db = createDb({ url: iso.databaseUrl, applicationName: 'bench-query' });
try {
  await applyMigrations(db.db);
  const random = seededRandom(7);
  const base = Math.floor((Date.now() - days * 86_400_000) / 3_600_000) * 3_600_000;
  const rows: SeededRow[] = [];
  for (let m = 0; m < days * 1_440; m += 1) {
    for (const category of CATEGORIES) {
      const start = base + m * 60_000;
      const sales = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, j) => ({
        category,
        amount: Math.round(1_000 + random() * 98_999) / 100,
        user: `u${Math.floor(random() * 5_000)}`,
        time: start + j,
      }));
      rows.push({ start, category, sales, status: 'settled', version: 1 });
    }
  }
  const group = iso.env.SLUICE_CONSUMER_GROUP ?? 'bench-query';
  const end = base + days * 86_400_000;
  await writeWindows(db.db, rows, {
    group,
    topic: topicNames('ecommerce', iso.topicPrefix).events,
    watermark: end,
  });
  const query = await startService('query', {
    ...iso.env,
    SLUICE_LOG_LEVEL: 'warn',
    SLUICE_TRACE_SAMPLE_RATIO: '0',
  });
  try {
    const env = {
      TARGET: query.url,
      BASE: String(base),
      DAYS: String(days),
      RATE: String(rate),
      DURATION: `${durationS}s`,
    };
    console.log(
      `sluice bench query: ${rows.length} windows (${days} days x ${CATEGORIES.length} categories), k6 at ${rate} req/s for ${durationS}s per run (at nice ${k6Nice}) against ${query.url} (Bun); cached run ${rounds} time(s)`,
    );
    const bare = await floorRun(env);
    const nativeServer = await startNativeFloor();
    let native: Run | undefined;
    try {
      if (nativeServer !== undefined)
        native = await runK6({ ...env, TARGET: nativeServer.url, MODE: 'baseline' }, nativeServer.pid);
    } finally {
      await nativeServer?.stop();
    }
    const pid = query.pid ?? 0;
    const baseline = await runK6({ ...env, MODE: 'baseline' }, pid);
    const cachedRounds: Run[] = [];
    for (let round = 0; round < rounds; round += 1)
      cachedRounds.push(await runK6({ ...env, MODE: 'cached' }, pid));
    const hitP99 = (run: Run) => run.summary.metrics.sluice_hit?.['p(99)'] ?? Number.POSITIVE_INFINITY;
    const byP99 = [...cachedRounds].sort((a, b) => hitP99(a) - hitP99(b));
    const cached = byP99[Math.floor((byP99.length - 1) / 2)] ?? byP99[0];
    if (cached === undefined) throw new Error('no cached round ran');
    const requests = (run: Run) =>
      ['sluice_hit', 'sluice_hit_other', 'sluice_miss', 'sluice_not_modified', 'sluice_floor'].reduce(
        (sum, k) => sum + (run.summary.metrics[k]?.count ?? 0),
        0,
      );
    // The floor for the bytes a cached answer moves: the bare server with a body as large as what
    // k6 received per cached request (headers included, 304s' empty bodies averaged in).
    const bytesPerCached = Math.round(
      (cached.summary.metrics.data_received?.count ?? 0) / Math.max(1, requests(cached)),
    );
    const sized = await floorRun(env, bytesPerCached);
    // The first mix meets the service's kept hours cold (bucket-rows.ts: every hour a cold range
    // touches is read from PostgreSQL once); the runs after it are its steady state.
    const mixes: Run[] = [];
    for (let run = 0; run < mixRuns; run += 1) mixes.push(await runK6({ ...env, MODE: 'mix' }, pid));
    // The same load with the misses asked as hot hits: what the hot hits read without misses beside
    // them (the warm ranges' answers are ~5x a hot one's bytes, so the cached-only run is lighter).
    const withoutMisses = await runK6({ ...env, MODE: 'mix-hits' }, pid);
    const line = (name: string, t: TrendSummary | undefined) =>
      t === undefined || t.count === 0
        ? `  ${name.padEnd(26)} none`
        : `  ${name.padEnd(26)} ${String(t.count).padStart(7)} requests  p50 ${t['p(50)'].toFixed(2)} ms  p99 ${t['p(99)'].toFixed(2)} ms`;
    const achieved = (run: Run) => requests(run) / durationS;
    // CPU per request: the figure that moves least with how busy the machine's neighbours are.
    const cpu = (run: Run) => {
      const n = Math.max(1, requests(run));
      const us = (seconds: number) => ((seconds * 1e6) / n).toFixed(0);
      return `server ${us(run.serverCpu)} µs, k6 ${us(run.k6Cpu)} µs, PostgreSQL ${us(run.stackCpu.postgres)} µs, Redis ${us(run.stackCpu.redis)} µs of CPU per request; ${Math.round(run.stolen * 100)} % of the CPU stolen by the hypervisor`;
    };
    const floors: [string, Run][] = [
      ...(native === undefined ? [] : [['native floor: nginx, fixed answer', native] as [string, Run]]),
      ['bare floor: Bun.serve, fixed answer', bare],
      [`bare floor, answer-sized: Bun.serve, fixed ${bytesPerCached}-byte answer`, sized],
      ['baseline: GET /healthz (sluice-query)', baseline],
    ];
    for (const [title, run] of floors) {
      console.log(`\n  ${title}: ${achieved(run).toFixed(0)} req/s (asked ${rate}); ${cpu(run)}`);
      console.log(line('answer', run.summary.metrics.sluice_floor));
    }
    const outcomes = (run: Run) => {
      const m = run.summary.metrics;
      console.log(line('cache hit (200)', m.sluice_hit));
      if ((m.sluice_hit_other?.count ?? 0) > 0)
        console.log(line('hit, warm or cold range', m.sluice_hit_other));
      console.log(line('not modified (304)', m.sluice_not_modified));
      console.log(line('cache miss (PostgreSQL)', m.sluice_miss));
    };
    console.log(`\n  cached only: hot ranges and their 304s, ${rounds} round(s):`);
    cachedRounds.forEach((run, i) => {
      const m = run.summary.metrics;
      console.log(
        `\n  round ${i + 1}${run === cached ? ' (the median by hit p99)' : ''}: ${achieved(run).toFixed(0)} req/s (asked ${rate}), failed ${m.sluice_failed?.count ?? 0}; ${cpu(run)}`,
      );
      outcomes(run);
    });
    mixes.forEach((mix, i) => {
      const m = mix.summary.metrics;
      console.log(
        `\n  the mix, run ${i + 1}${i === 0 ? ' (kept hours cold)' : ''}: 70 % hot, 10 % 304, 15 % warm, 5 % cold: ${achieved(mix).toFixed(0)} req/s (asked ${rate}), failed ${m.sluice_failed?.count ?? 0}; ${cpu(mix)}`,
      );
      outcomes(mix);
    });
    console.log(
      `\n  the mix without its misses (the cold 5 % asked as hot ranges): ${achieved(withoutMisses).toFixed(0)} req/s (asked ${rate}), failed ${withoutMisses.summary.metrics.sluice_failed?.count ?? 0}; ${cpu(withoutMisses)}`,
    );
    outcomes(withoutMisses);
    const hit = cached.summary.metrics.sluice_hit;
    const floor = baseline.summary.metrics.sluice_floor;
    const bareFloor = bare.summary.metrics.sluice_floor;
    const sizedFloor = sized.summary.metrics.sluice_floor;
    if (hit !== undefined && floor !== undefined && bareFloor !== undefined && sizedFloor !== undefined) {
      const ratio = (t: TrendSummary) => (t['p(99)'] > 0 ? (hit['p(99)'] / t['p(99)']).toFixed(2) : '-');
      console.log(
        `\n  cached hit p99 (median round) / healthz p99: ${ratio(floor)}; / bare floor p99: ${ratio(bareFloor)}; / answer-sized bare floor p99: ${ratio(sizedFloor)}`,
      );
      const toFloor = hit['p(99)'] / sizedFloor['p(99)'];
      console.log(
        `  target: cached p99 at most ${MAX_CACHED_TO_FLOOR}x the answer-sized floor at ${rate} req/s (k6 at nice ${k6Nice}): ${toFloor.toFixed(2)}x, ${toFloor <= MAX_CACHED_TO_FLOOR && achieved(cached) >= rate * 0.95 ? 'met' : 'not met'} in the median round; rounds' hit p99: ${cachedRounds.map((r) => hitP99(r).toFixed(2)).join(' / ')} ms`,
      );
      // What a miss costs beyond the hit it replaced: the mix's CPU per request over the same load's
      // without misses, times the mix's requests, per miss (issue 27: misses are 5 % of the mix
      // and were half of the service's CPU in it).
      const perRequest = (run: Run, seconds: number) => seconds / Math.max(1, requests(run));
      mixes.forEach((mix, i) => {
        const misses = mix.summary.metrics.sluice_miss?.count ?? 0;
        if (misses === 0) return;
        const extra = (of: (run: Run) => number) =>
          (((perRequest(mix, of(mix)) - perRequest(withoutMisses, of(withoutMisses))) * requests(mix)) /
            misses) *
          1e6;
        console.log(
          `  the mix, run ${i + 1}: a miss costs ~${extra((r) => r.serverCpu).toFixed(0)} µs of the service's CPU and ~${extra((r) => r.stackCpu.postgres).toFixed(0)} µs of PostgreSQL's beyond a hit (${misses} misses)`,
        );
      });
      mixes.forEach((mix, i) => {
        const mm = mix.summary.metrics;
        const missP99 = mm.sluice_miss?.['p(99)'] ?? Number.NaN;
        const hotP99 = mm.sluice_hit?.['p(99)'] ?? Number.NaN;
        const hitsBeside = hotP99 / (withoutMisses.summary.metrics.sluice_hit?.['p(99)'] ?? Number.NaN);
        const sustained = achieved(mix) >= rate * 0.95;
        const met = sustained && missP99 <= MAX_MISS_P99_MS && hitsBeside <= MAX_MIX_HIT_TO_WITHOUT_MISSES;
        console.log(
          `  target: the mix at ${rate} req/s, misses p99 at most ${MAX_MISS_P99_MS} ms, hot hits p99 at most ${MAX_MIX_HIT_TO_WITHOUT_MISSES}x the same load's without misses: run ${i + 1}: ${achieved(mix).toFixed(0)} req/s, misses p99 ${missP99.toFixed(0)} ms, hot hits ${hitsBeside.toFixed(2)}x (${(hotP99 / hit['p(99)']).toFixed(2)}x the cached-only run's): ${met ? 'met' : 'not met'}`,
        );
      });
    }
    if (authRounds > 0) await authComparison(env, query, line, cpu, achieved);
  } finally {
    await query.stop();
  }
} finally {
  await db.close();
  await iso.cleanup();
}
