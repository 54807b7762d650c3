// `./sluice load` (tools/load.ts and its k6 scenarios) against real services with SLUICE_AUTH=on:
// - the smoke profile on ecommerce, through the edge on Deno, passes every threshold (k6 exits 0), each sent event was
//   accepted, and the windows count exactly the events sent (each copy got a fresh id, so dedup
//   swallowed none, under the key's tenant);
// - an impossible threshold (a request p99 of a microsecond, straight to ingest) fails the run: k6 exits 99, so the
//   thresholds can fail;
// - a rate beyond the cap, another host than 127.0.0.1, or a stream POST /v1/events may not
//   write, is refused before k6 starts.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stackEnv, waitFor } from '../../../shared/test/harness.ts';
import { createTestKey } from '../../../shared/test/keys.ts';
import type { CommandResult } from '../../../shared/test/run-command.ts';
import { runCommand } from '../../../shared/test/run-command.ts';
import type { ServiceHandle, TestPipeline } from '../../../shared/test/services.ts';
import { ROOT, testPipeline } from '../../../shared/test/services.ts';

const TENANT = 'loadtest';
let pipeline: TestPipeline;
let ingest: ServiceHandle;
let edge: ServiceHandle;
let query: ServiceHandle;
let dir: string;
let writeKeyFile: string;
let readKeyFile: string;

interface Summary {
  metrics: Record<
    string,
    { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> } | undefined
  >;
}

function load(args: string[]): Promise<CommandResult> {
  return runCommand(
    'node',
    [
      `${ROOT}tools/load.ts`,
      '--stream',
      'ecommerce',
      '--edge-url',
      edge.url,
      '--ingest-url',
      ingest.url,
      '--query-url',
      query.url,
      '--key-file',
      writeKeyFile,
      '--read-key-file',
      readKeyFile,
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, SLUICE_K6_BIN: stackEnv().k6Bin } },
  );
}

const summaryOf = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Summary;

/** Every threshold of the run, `metric expression` -> ok. */
function thresholds(summary: Summary): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const [name, metric] of Object.entries(summary.metrics))
    for (const [expression, t] of Object.entries(metric?.thresholds ?? {}))
      out.set(`${name} ${expression}`, t.ok);
  return out;
}

before(async () => {
  pipeline = await testPipeline('load');
  const env = { SLUICE_AUTH: 'on' };
  ingest = await pipeline.start('ingest', env);
  await pipeline.start('processor');
  query = await pipeline.start('query', env);
  // The edge (on Deno) forwards to ingest with its relay key, as `./sluice up` runs it.
  const relay = await createTestKey(pipeline.iso.databaseUrl, { tenant: 'sluice', scopes: ['events:relay'] });
  edge = await pipeline.start('edge', {
    ...env,
    SLUICE_INGEST_URL: ingest.url,
    SLUICE_EDGE_INGEST_KEY: relay.key,
  });
  dir = await mkdtemp(join(tmpdir(), 'sluice-load-test-'));
  const write = await createTestKey(pipeline.iso.databaseUrl, { tenant: TENANT, scopes: ['events:write'] });
  // The freshness poll reads each partition's watermark: an operator's view (admin too), as the
  // demo's demo-ops key that `./sluice load` uses by default.
  const read = await createTestKey(pipeline.iso.databaseUrl, {
    tenant: TENANT,
    scopes: ['windows:read', 'admin'],
  });
  // Warm-up, as the e2e bench has: one event through the edge and ingest before the measured run,
  // so the thresholds hold the steady state, not the first produce to topics created a moment ago
  // (a partition without its leader yet costs the client a 1 s retry). Another tenant's, so the
  // windows of the run count only its own events.
  const warm = await createTestKey(pipeline.iso.databaseUrl, {
    tenant: `${TENANT}-warm`,
    scopes: ['events:write'],
  });
  await waitFor(
    async () => {
      const response = await fetch(`${edge.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${warm.key}` },
        body: JSON.stringify([
          {
            stream: 'ecommerce',
            data: {
              transaction_id: `warm-${Date.now()}`,
              user_id: 'warm',
              product_category: 'Books',
              product_name: 'warm',
              amount: 1,
              timestamp: new Date().toISOString(),
              payment_method: 'paypal',
            },
          },
        ]),
      });
      await response.body?.cancel();
      return response.status === 202 ? true : undefined;
    },
    { what: 'a first event accepted through the edge' },
  );
  writeKeyFile = join(dir, 'write.key');
  readKeyFile = join(dir, 'read.key');
  await writeFile(writeKeyFile, `${write.key}\n`, { mode: 0o600 });
  await writeFile(readKeyFile, `${read.key}\n`, { mode: 0o600 });
});

after(async () => {
  await pipeline?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('./sluice load', () => {
  it('runs the smoke profile on ecommerce with every threshold passed, and the windows count it', async () => {
    const summaryPath = join(dir, 'smoke.json');
    const { code, output } = await load([
      '--profile',
      'smoke',
      '--duration',
      '20s',
      '--summary',
      summaryPath,
    ]);
    assert.equal(code, 0, `k6 exited ${code}:\n${output}`);
    const summary = await summaryOf(summaryPath);
    const results = thresholds(summary);
    for (const expected of [
      'http_req_failed rate==0',
      'checks rate==1',
      'http_req_duration{scenario:events} p(99)<500',
      // ecommerce: a 1-minute watermark and 1-minute windows.
      'sluice_freshness p(99)<120000',
      'sluice_caught_up count>0',
    ])
      assert.equal(results.get(expected), true, `threshold ${expected}: ${JSON.stringify([...results])}`);
    const sent = summary.metrics.sluice_events_sent?.values.count ?? 0;
    // 50 events/s for 20 s in batches of 5; k6 starts an iteration at both ends of the run.
    assert.ok(sent >= 900 && sent <= 1_010, `sent ${sent}`);
    assert.equal(summary.metrics.sluice_events_accepted?.values.count, sent);
    assert.match(output, /sluice load: ecommerce, profile smoke, 50 events\/s for 20s/);
    // Fresh ids: the windows of the key's tenant count every event sent, none deduplicated away.
    await waitFor(
      async () => {
        const [row] = await pipeline.sql<{ n: string | null }[]>`
          select sum((values->>'count')::int)::text as n from windows where tenant = ${TENANT} and "window" = '1m'`;
        return Number(row?.n ?? 0) === sent ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `windows counting the ${sent} events sent` },
    );
  });

  it('fails (k6 exit 99) when a threshold cannot hold', async () => {
    const summaryPath = join(dir, 'impossible.json');
    const { code, output } = await load([
      '--to',
      'ingest',
      '--profile',
      'smoke',
      '--duration',
      '5s',
      '--request-p99',
      '0.001',
      '--summary',
      summaryPath,
    ]);
    assert.equal(code, 99, `k6 exited ${code}:\n${output}`);
    const results = thresholds(await summaryOf(summaryPath));
    assert.equal(results.get('http_req_duration{scenario:events} p(99)<0.001'), false);
    assert.equal(results.get('http_req_failed rate==0'), true, 'only the impossible threshold failed');
    assert.match(output, /FAIL http_req_duration\{scenario:events\} p\(99\)<0\.001/);
  });

  it('refuses a rate beyond the cap before any request', async () => {
    const { code, output } = await load(['--profile', 'average', '--rate', '1000000']);
    assert.equal(code, 2);
    assert.match(output, /--rate must be 1 to 20000 events per second/);
  });

  it('refuses a target other than 127.0.0.1', async () => {
    const { code, output } = await load(['--query-url', 'http://example.com:8081']);
    assert.equal(code, 2);
    assert.match(output, /load goes to 127\.0\.0\.1 only/);
  });

  it('refuses a stream that only takes signed webhook deliveries', async () => {
    const { code, output } = await load(['--stream', 'webhooks']);
    assert.equal(code, 2);
    assert.match(output, /'webhooks' takes only signed webhook deliveries/);
  });
});
