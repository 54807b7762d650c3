// ./sluice load --stream S --profile smoke|average|spike|soak [--rate N] [--duration D] [--to edge|ingest]
// Runs the shipped k6 scenarios (tools/load/stream-load.js) against the running services with a
// tenant's write key: sample events of the stream (its declared generator, else derived from its
// schema) at the profile's rate, and a poll of the stream's watermark. k6's thresholds encode the
// stream's promise (no failed request, intake p99, freshness p99); its exit code is this one's
// (99 when a threshold failed). Bounded in rate and duration; traffic goes only to the URLs given.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { parseCliArgs } from './cli-args.ts';
import type { ProfileName } from './load/profiles.ts';
import { isProfile, k6Options, loadSettings, PROFILES, parseDurationS } from './load/profiles.ts';
import { samplePool } from './load/sample-pool.ts';

const USAGE =
  './sluice load --stream S --profile smoke|average|spike|soak [--rate EVENTS_PER_S] [--duration 30s|5m|1h] ' +
  '[--to edge|ingest] [--key-file F] [--read-key-file F] [--request-p99 MS] [--summary FILE] [--seed N]';
const { values } = parseCliArgs(
  {
    options: {
      stream: { type: 'string' },
      profile: { type: 'string', default: 'smoke' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      to: { type: 'string', default: 'edge' },
      'key-file': { type: 'string' },
      'read-key-file': { type: 'string' },
      'request-p99': { type: 'string' },
      summary: { type: 'string' },
      seed: { type: 'string', default: '1' },
      // The services' URLs: ./sluice passes the local stack's; a test passes its own.
      'edge-url': { type: 'string', default: 'http://127.0.0.1:8787' },
      'ingest-url': { type: 'string', default: 'http://127.0.0.1:8080' },
      'query-url': { type: 'string', default: 'http://127.0.0.1:8081' },
    },
  },
  USAGE,
);

function usage(reason: string): never {
  console.error(`${reason}\nusage: ${USAGE}`);
  process.exit(2);
}

const stream = streamRegistry().get(values.stream ?? '');
if (stream === undefined)
  usage(`--stream must name a declared stream (${[...streamRegistry().keys()].join(', ')})`);
const profile: ProfileName = isProfile(values.profile)
  ? values.profile
  : usage(`--profile must be ${PROFILES.join('|')}`);
if (values.to !== 'edge' && values.to !== 'ingest') usage('--to must be edge or ingest');
const durationS = values.duration === undefined ? undefined : parseDurationS(values.duration);
if (values.duration !== undefined && durationS === undefined)
  usage(`--duration '${values.duration}' is not 30s, 5m or 1h`);
const settings = loadSettings(stream, profile, {
  ...(values.rate === undefined ? {} : { rate: Number(values.rate) }),
  ...(durationS === undefined ? {} : { durationS }),
  ...(values['request-p99'] === undefined ? {} : { requestP99Ms: Number(values['request-p99']) }),
});
if (!settings.ok) usage(settings.error);
const target = values.to === 'edge' ? values['edge-url'] : values['ingest-url'];
for (const url of [target, values['query-url']])
  if (!URL.canParse(url) || new URL(url).hostname !== '127.0.0.1')
    usage(`load goes to 127.0.0.1 only (the services this machine runs), not ${url}`);

const pool = samplePool(stream, Number(values.seed));
if (!pool.ok) {
  console.error(
    `sluice load: ${pool.error.message}${pool.error.details ? ` ${JSON.stringify(pool.error.details)}` : ''}`,
  );
  process.exit(2);
}

// Keys are read here and handed to k6 in its environment: never on a command line or in the plan.
const readKey = async (file: string | undefined, what: string) => {
  if (file === undefined) usage(`${what} is needed`);
  const key = (await readFile(file, 'utf8').catch(() => usage(`cannot read ${what} ${file}`))).trim();
  if (!key.startsWith('slk_')) usage(`${what} ${file} holds no sluice API key`);
  return key;
};
const writeKey = await readKey(values['key-file'], '--key-file');
const readKeyValue = await readKey(values['read-key-file'], '--read-key-file');

const k6Bin = process.env.SLUICE_K6_BIN;
if (k6Bin === undefined || k6Bin === '') usage('SLUICE_K6_BIN is not set (./sluice load sets it)');

// A run against services that are not there would only measure refused connections.
for (const url of [target, values['query-url']]) {
  const up = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3_000) }).then(
    // 401: up, with its health endpoint behind a key.
    (response) => response.ok || response.status === 401,
    () => false,
  );
  if (!up) {
    console.error(`sluice load: nothing answers at ${url} (start the services: ./sluice up)`);
    process.exit(2);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'sluice-load-'));
let code: number;
try {
  // k6 writes it relative to its working directory: made absolute against the caller's.
  const summaryPath = values.summary === undefined ? join(dir, 'summary.json') : resolve(values.summary);
  const planPath = join(dir, 'plan.json');
  const poolPath = join(dir, 'pool.json');
  const plan = {
    stream: stream.name,
    profile,
    rate: settings.value.rate,
    durationS: settings.value.durationS,
    batch: settings.value.batch,
    target,
    query: values['query-url'],
    runId: `load-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
    source: pool.value.source,
    idField: pool.value.idField,
    eventTime: pool.value.eventTime,
    timeFormat: pool.value.timeFormat,
    watermarkMs: stream.watermarkMs,
    freshnessBoundMs: settings.value.freshnessBoundMs,
    options: k6Options(settings.value),
  };
  await writeFile(planPath, JSON.stringify(plan));
  await writeFile(poolPath, JSON.stringify(pool.value.events));
  const script = fileURLToPath(new URL('./load/stream-load.js', import.meta.url));
  const child = spawn(k6Bin, ['run', '--quiet', '--no-usage-report', script], {
    env: {
      ...process.env,
      PLAN: planPath,
      POOL: poolPath,
      SUMMARY: summaryPath,
      WRITE_KEY: writeKey,
      READ_KEY: readKeyValue,
      K6_NO_USAGE_REPORT: 'true',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Ctrl-C reaches k6 from the terminal (one process group): k6 ends its scenarios and still
  // writes the summary, so this process waits for it instead of dying first. A second SIGINT
  // forwarded from here would make k6 abort without one. SIGTERM is sent to this process alone.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGINT'));
  code = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      console.error(`sluice load: could not run k6: ${error.message}`);
      resolve(2);
    });
    child.once('exit', (exit) => resolve(exit ?? 1));
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(code);
