// ./sluice bench query: k6 against the query service (on Bun) over a week of seeded 1-minute
// ecommerce windows (6 categories; 60,480 rows, settled), at a constant arrival rate with a
// realistic mix: hot ranges (cache hits), conditional requests (304) and cold random ranges
// (misses that read PostgreSQL). Prints achieved req/s and p50/p99 latency per outcome, beside
// the HTTP floor measured in the same run: GET /healthz of the same server at the same rate.
// The target: cached p99 under 5 ms at 5,000 req/s with k6 on the same two cores.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { topicNames } from '@sluice/shared/streams/registry';
import type { SeededRow } from '../query/test/seed-windows.ts';
import { writeWindows } from '../query/test/seed-windows.ts';
import { stackEnv } from '../shared/test/harness.ts';
import { isolate, ROOT, startService } from '../shared/test/services.ts';
import { CATEGORIES, seededRandom } from '../tools/ecommerce-data.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '20' },
    days: { type: 'string', default: '7' },
  },
});
const rate = Math.min(Number(args.rate), 50_000);
const durationS = Math.min(Number(args.duration), 300);
const days = Math.min(Number(args.days), 30);
const stack = stackEnv();

interface TrendSummary {
  'p(50)': number;
  'p(99)': number;
  count: number;
}
interface Summary {
  metrics: Record<string, (TrendSummary & { count: number }) | undefined>;
}

async function runK6(env: Record<string, string>): Promise<Summary> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-query-'));
  try {
    const summaryPath = join(dir, 'summary.json');
    const k6 = spawn(
      stack.k6Bin,
      ['run', '--quiet', '--no-usage-report', '--summary-export', summaryPath, `${ROOT}bench/query-load.js`],
      { env: { ...process.env, ...env, K6_NO_USAGE_REPORT: 'true' }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await new Promise((resolve) => k6.once('exit', resolve));
    return JSON.parse(await readFile(summaryPath, 'utf8')) as Summary;
  } finally {
    await rm(dir, { recursive: true, force: true });
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
      `sluice bench query: ${rows.length} windows (${days} days x ${CATEGORIES.length} categories), k6 at ${rate} req/s for ${durationS}s against ${query.url} (Bun)`,
    );
    const baseline = await runK6({ ...env, MODE: 'baseline' });
    const cached = await runK6({ ...env, MODE: 'cached' });
    const mix = await runK6({ ...env, MODE: 'mix' });
    const line = (name: string, t: TrendSummary | undefined) =>
      t === undefined || t.count === 0
        ? `  ${name.padEnd(26)} none`
        : `  ${name.padEnd(26)} ${String(t.count).padStart(7)} requests  p50 ${t['p(50)'].toFixed(2)} ms  p99 ${t['p(99)'].toFixed(2)} ms`;
    const achieved = (run: Summary) =>
      ['sluice_hit', 'sluice_miss', 'sluice_not_modified', 'sluice_floor'].reduce(
        (sum, k) => sum + (run.metrics[k]?.count ?? 0),
        0,
      ) / durationS;
    const floor = baseline.metrics.sluice_floor;
    console.log(`\n  baseline: GET /healthz     ${achieved(baseline).toFixed(0)} req/s (asked ${rate})`);
    console.log(line('healthz', floor));
    for (const [title, run] of [
      ['cached only: hot ranges and their 304s', cached],
      ['the mix: 70 % hot, 10 % 304, 15 % warm, 5 % cold', mix],
    ] as const) {
      const m = run.metrics;
      console.log(
        `\n  ${title}: ${achieved(run).toFixed(0)} req/s (asked ${rate}), failed ${m.sluice_failed?.count ?? 0}`,
      );
      console.log(line('cache hit (200)', m.sluice_hit));
      console.log(line('not modified (304)', m.sluice_not_modified));
      console.log(line('cache miss (PostgreSQL)', m.sluice_miss));
    }
    const hit = cached.metrics.sluice_hit;
    if (hit !== undefined && floor !== undefined && floor['p(99)'] > 0) {
      console.log(
        `\n  cached hit p99 / healthz p99 (same rate): ${(hit['p(99)'] / floor['p(99)']).toFixed(2)}`,
      );
      const met = hit['p(99)'] < 5 && achieved(cached) >= rate * 0.95;
      console.log(`  target (cached p99 < 5 ms at ${rate} req/s): ${met ? 'met' : 'not met'}`);
    }
  } finally {
    await query.stop();
  }
} finally {
  await db.close();
  await iso.cleanup();
}
