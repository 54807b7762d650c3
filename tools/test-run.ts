// ./sluice test's runner: every test file of the repository (or the ones named), by tier
// (tools/test-tiers.ts). Unit and integration files run side by side (--concurrency, default
// SLUICE_TEST_CONCURRENCY or 3); drills run one at a time after them, since they stop services the
// others use. Prints each phase's time; exits non-zero when any file fails.

import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { exitWithUsage, parseCliArgs } from './cli-args.ts';
import { ROOT } from './services/launch.ts';
import type { Tier } from './test-tiers.ts';
import { DEFAULT_TIERS, schedule, TIERS, tierOf } from './test-tiers.ts';

const USAGE = 'test-run.ts [--tier unit|integration|drill|cluster]... [--concurrency N] [files...]';
const { values, positionals } = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      tier: { type: 'string', multiple: true },
      concurrency: { type: 'string', default: process.env.SLUICE_TEST_CONCURRENCY ?? '3' },
    },
  },
  USAGE,
);

// The cluster tier needs the cluster mode's environment (./sluice test runs it on its own, after
// the others): a run asks for it by name, or names its files.
const wanted: Tier[] = [];
const named = positionals.length > 0;
for (const tier of values.tier ?? (named ? TIERS : DEFAULT_TIERS)) {
  const known = TIERS.find((t) => t === tier);
  if (known === undefined) exitWithUsage(USAGE, `unknown tier ${tier}`);
  else wanted.push(known);
}
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1)
  exitWithUsage(USAGE, '--concurrency: a whole number from 1');

/** The folders that hold test/ folders: the services, the client, e2e and the local stack's own. */
const TEST_ROOTS = ['shared', 'edge', 'ingest', 'processor', 'query', 'e2e', 'deploy', 'client', 'bench'];

async function testFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const top of TEST_ROOTS) {
    for (const entry of await readdir(join(ROOT, top), { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      const rel = relative(ROOT, path);
      if (
        entry.isFile() &&
        rel.endsWith('.test.ts') &&
        rel.includes('/test/') &&
        !rel.includes('node_modules')
      )
        found.push(rel);
    }
  }
  return found;
}

function runNodeTest(files: readonly string[], parallel: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      // --test-force-exit: a file whose tests all ended exits even if a handle stays open (a socket
      // a server left behind under load); one such file must not hold the whole run.
      ['--test', `--test-concurrency=${parallel}`, '--test-timeout=300000', '--test-force-exit', ...files],
      { cwd: ROOT, stdio: 'inherit' },
    );
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const plan = schedule(named ? positionals : await testFiles(), wanted);
if (plan.untiered.length > 0) {
  // A file named by hand runs anyway (in the concurrent phase); found by the runner, it is a mistake.
  if (!named) {
    console.error(
      `test files without a tier (NAME.unit|integration|drill|cluster.test.ts):\n  ${plan.untiered.join('\n  ')}`,
    );
    process.exit(2);
  }
}
const concurrent = [...plan.concurrent, ...(named ? plan.untiered : [])];
if (concurrent.length + plan.alone.length === 0) {
  console.error('no test files to run');
  process.exit(2);
}

let failed = false;
const timings: string[] = [];
const phase = async (label: string, files: readonly string[], parallel: number) => {
  if (files.length === 0) return;
  console.log(`[sluice] ${label}: ${files.length} files, ${parallel} at a time, on ${process.version}`);
  const started = performance.now();
  const code = await runNodeTest(files, parallel);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  timings.push(`${label}: ${files.length} files in ${seconds} s${code === 0 ? '' : ' (FAILED)'}`);
  if (code !== 0) failed = true;
};
await phase('side by side (unit, integration)', concurrent, concurrency);
await phase(
  'alone (drills)',
  plan.alone.filter((f) => tierOf(f) !== 'cluster'),
  1,
);
await phase(
  'alone (cluster drills)',
  plan.alone.filter((f) => tierOf(f) === 'cluster'),
  1,
);
for (const line of timings) console.log(`[sluice] ${line}`);
process.exit(failed ? 1 : 0);
