// Integration: @sluice/client against the real services (ingest, processor, query, the edge on
// Deno) with auth on. In this process (Node): events sent through the edge with a key, verdicts
// per event, a resend of the same ids counted once, windows, top, stream and usage read through
// the generated types; `./sluice send`'s tool. Then the same script (send-and-read.ts) run on
// Node, Bun and Deno, and the client bundled into a page in headless Chromium (browser-page.ts),
// each asserting its events landed in windows.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { launchBrowser } from '../../shared/test/browser.ts';
import { waitFor } from '../../shared/test/harness.ts';
import { createTestKey } from '../../shared/test/keys.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { ROOT, testPipeline } from '../../shared/test/services.ts';
import { queryOpenApiDocument } from '../scripts/openapi-types.ts';
import type { EventVerdict } from '../src/index.ts';
import { createSluiceClient } from '../src/index.ts';
import { servePage } from './browser-page.ts';

const run = promisify(execFile);
const TENANT = 'client-co';

let pipeline: TestPipeline;
let edge: ServiceHandle;
let ingest: ServiceHandle;
let query: ServiceHandle;
let processor: ServiceHandle;
let key: string;

before(async () => {
  pipeline = await testPipeline('client', {
    SLUICE_AUTH: 'on',
    SLUICE_IDLE_TIMEOUT_MS: '4000',
    SLUICE_TICK_MS: '250',
  });
  const relay = await createTestKey(pipeline.iso.databaseUrl, { tenant: 'sluice', scopes: ['events:relay'] });
  key = (
    await createTestKey(pipeline.iso.databaseUrl, {
      tenant: TENANT,
      scopes: ['events:write', 'windows:read'],
    })
  ).key;
  ingest = await pipeline.start('ingest');
  processor = await pipeline.start('processor');
  query = await pipeline.start('query');
  edge = await pipeline.start(
    'edge',
    { SLUICE_INGEST_URL: ingest.url, SLUICE_EDGE_INGEST_KEY: relay.key },
    'deno',
  );
});

after(() => pipeline.close());

const transaction = (category: string, i: number, time: number) => ({
  transaction_id: `${category}-${i}`,
  user_id: `u-${i % 5}`,
  product_category: category,
  product_name: 'Kettle',
  amount: 2.5,
  timestamp: new Date(time).toISOString(),
  payment_method: 'card',
});

describe('the client on Node, in this process', () => {
  it('sends through the edge with a key, gets a verdict per event, and reads its windows back', {
    timeout: 120_000,
  }, async () => {
    const sluice = createSluiceClient({
      ingestUrl: edge.url,
      queryUrl: query.url,
      apiKey: key,
      events: { maxBatchEvents: 50 },
    });
    // A past minute: once the workload stops, the idle timeout moves the watermark on by wall clock
    // and settles its windows within seconds (guarantee 7); windows of now would take minutes.
    const now = Date.parse('2026-03-01T12:00:30.000Z');
    const category = 'node-in-process';
    const sent = [];
    for (let i = 0; i < 120; i += 1)
      sent.push(await sluice.events.send({ stream: 'ecommerce', data: transaction(category, i, now - i) }));
    const unknown = await sluice.events.send({ stream: 'no-such-stream', data: {} });
    const spoofed = await sluice.events.send({
      stream: 'ecommerce',
      tenant: 'someone-else',
      data: transaction(category, 999, now),
    });
    await sluice.events.flush();
    const verdicts = await Promise.all(sent.map((s) => s.verdict));
    assert.deepEqual(
      verdicts.map((v) => v.status),
      sent.map(() => 'accepted'),
    );
    assert.deepEqual(
      verdicts.map((v) => v.id),
      sent.map((s) => s.id),
    );
    const refused = (v: EventVerdict) => (v.status === 'refused' ? v.errors.map((e) => e.path) : v.status);
    assert.deepEqual(refused(await unknown.verdict), ['stream']);
    assert.deepEqual(refused(await spoofed.verdict), ['tenant'], "another tenant than the key's is refused");

    // The same ids again (a retry the caller makes itself): accepted, and counted once downstream.
    const again = [];
    for (let i = 0; i < 30; i += 1)
      again.push(
        await sluice.events.send({
          id: sent[i]?.id,
          stream: 'ecommerce',
          data: transaction(category, i, now - i),
        }),
      );
    await sluice.events.flush();
    assert.ok((await Promise.all(again.map((s) => s.verdict))).every((v) => v.status === 'accepted'));

    const range = {
      from: new Date(now - 5 * 60_000).toISOString(),
      to: new Date(now + 60_000).toISOString(),
    };
    const rows = await waitFor(
      async () => {
        const { data, error } = await sluice.query.windows('ecommerce', {
          ...range,
          filter: [`product_category=${category}`],
        });
        assert.equal(error, undefined);
        const settled = data?.data.filter((r) => r.status === 'settled') ?? [];
        return settled.length > 0 && settled.length === data?.data.length ? data.data : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'settled windows of the client’s events' },
    );
    const counted = rows.reduce((sum, row) => sum + (row.values.count ?? 0), 0);
    assert.equal(counted, 120, 'every event once: the resent ids were dropped by dedup');
    assert.ok(rows.every((r) => r.key === category));

    const top = await sluice.query.top('ecommerce', { ...range, agg: 'count', n: 5 });
    assert.equal(top.error, undefined);
    assert.deepEqual(
      top.data?.data.map((t) => [t.key, t.value]),
      [[category, 120]],
    );
    const stream = await sluice.query.stream('ecommerce');
    assert.equal(stream.data?.tenant, TENANT, "reads are the key's tenant's");
    const health = await sluice.query.health('ecommerce');
    assert.equal(health.response.status, 200, JSON.stringify(health.error));
    const usage = await sluice.query.usage();
    assert.equal(usage.data?.tenant, TENANT);
    assert.ok(
      (usage.data?.events ?? 0) >= 150,
      `usage ${usage.data?.events}: every accepted event, resends too`,
    );
    await sluice.close();
  });

  it('answers a wrong key with a failed verdict at once (401 is not retried), and query errors typed', async () => {
    const wrong = createSluiceClient({
      ingestUrl: edge.url,
      queryUrl: query.url,
      apiKey: 'slk_aaaaaaaaaaaaaaaa_nope',
    });
    const { verdict } = await wrong.events.send({
      stream: 'ecommerce',
      data: transaction('x', 1, Date.now()),
    });
    await wrong.events.flush();
    const v = await verdict;
    assert.equal(v.status, 'failed');
    assert.equal(v.attempts, 1);
    if (v.status === 'failed')
      assert.deepEqual([v.error.status, v.error.code, v.error.retryable], [401, 'unauthorized', false]);
    const read = await wrong.query.windows('ecommerce');
    assert.equal(read.response.status, 401);
    assert.equal(read.error?.error.code, 'unauthorized');
    await wrong.close();
  });
});

describe('the generated types', () => {
  it('come from the very document the running query service serves', async () => {
    const served = await (await fetch(`${query.url}/openapi.json`)).json();
    assert.deepEqual(served, JSON.parse(JSON.stringify(queryOpenApiDocument())));
  });
});

describe('./sluice send (tools/send.ts) through the client', () => {
  it('sends a file, reports refused lines by number, and a second send of it is deduplicated', {
    timeout: 120_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-send-'));
    const file = join(dir, 'events.ndjson');
    const now = Date.now();
    // Lines without an envelope id: the tool fixes each one's transaction_id as its id, as the
    // intake would, so sending the file again is recognised as the same events.
    const good = Array.from({ length: 60 }, (_, i) =>
      JSON.stringify({ stream: 'ecommerce', data: transaction('send-tool', i, now - i) }),
    );
    await writeFile(
      file,
      `${good.slice(0, 30).join('\n')}\nnot json\n${JSON.stringify({ stream: 'ecommerce', data: { amount: 1 } })}\n${good.slice(30).join('\n')}\n`,
    );
    const send = () =>
      run('node', [`${ROOT}tools/send.ts`, file, '--url', ingest.url, '--batch', '25'], {
        cwd: ROOT,
        env: { ...process.env, SLUICE_API_KEY: key },
      });
    try {
      const first = await send();
      assert.deepEqual(JSON.parse(first.stdout), { lines: 62, accepted: 60, rejected: 2, failed: 0 });
      assert.match(first.stderr, /^line 31: .*not valid JSON/m);
      assert.match(first.stderr, /^line 32: .*"status":"refused".*"path":"data\.transaction_id"/m);
      const counted = async () => {
        const { data } = await createSluiceClient({ queryUrl: query.url, apiKey: key }).query.windows(
          'ecommerce',
          {
            from: new Date(now - 5 * 60_000).toISOString(),
            to: new Date(now + 60_000).toISOString(),
            filter: ['product_category=send-tool'],
          },
        );
        return data?.data.reduce((sum, row) => sum + (row.values.count ?? 0), 0) ?? 0;
      };
      await waitFor(async () => ((await counted()) === 60 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: '60 events in windows',
      });
      const duplicates = async () =>
        (await scrape(processor.url)).sum('sluice_processor_events_total', {
          stream: 'ecommerce',
          outcome: 'duplicate',
        });
      const before = await duplicates();
      const second = await send();
      assert.equal(JSON.parse(second.stdout).accepted, 60);
      await waitFor(async () => ((await duplicates()) - before >= 60 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'the processor to drop the 60 resent events as duplicates',
      });
      assert.equal(await counted(), 60, 'counted once');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the same script on Node, Bun and Deno', () => {
  const runtimes: [string, string[]][] = [
    ['node', ['node', `${ROOT}client/test/send-and-read.ts`]],
    ['bun', ['bun', `${ROOT}client/test/send-and-read.ts`]],
    ['deno', ['deno', 'run', '-A', `${ROOT}client/test/send-and-read.ts`]],
  ];
  for (const [name, [command, ...args]] of runtimes) {
    it(`sends and reads its windows back on ${name}`, { timeout: 120_000 }, async () => {
      const { stdout } = await run(command ?? name, args, {
        cwd: ROOT,
        timeout: 110_000,
        env: {
          ...process.env,
          // Events go to ingest here (the edge has its own test above); both speak the same intake.
          SLUICE_CLIENT_EVENTS_URL: name === 'deno' ? edge.url : ingest.url,
          SLUICE_CLIENT_QUERY_URL: query.url,
          SLUICE_API_KEY: key,
          SLUICE_CLIENT_CATEGORY: `script-${name}`,
          SLUICE_CLIENT_EVENTS: '100',
        },
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        runtime: string;
        accepted: number;
        refused: string[] | string;
        counted: number;
      };
      assert.match(seen.runtime, { node: /^Node\.js/, bun: /^Bun/, deno: /^Deno/ }[name] ?? /./);
      assert.equal(seen.accepted, 100);
      assert.deepEqual(seen.refused, ['data.amount']);
      assert.equal(seen.counted, 100, `${name}: every event in windows`);
    });
  }
});

describe('the client in a browser (headless Chromium)', () => {
  it('sends and reads its windows back from a page, bundled from the same sources', {
    timeout: 120_000,
  }, async () => {
    const page = await servePage(edge.url, query.url);
    const browser = await launchBrowser();
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (error) => errors.push(error.message));
      await tab.goto(page.url);
      await tab.waitForFunction('window.ready === true');
      const seen = (await tab.evaluate(
        `window.sendAndRead(${JSON.stringify({ apiKey: key, category: 'browser', count: 100 })})`,
      )) as { runtime: string; accepted: number; refused: number | string; counted: number };
      assert.match(seen.runtime, /Chrome/);
      assert.equal(seen.accepted, 100);
      assert.ok(typeof seen.refused === 'number' && seen.refused > 0, `refused: ${seen.refused}`);
      assert.equal(seen.counted, 100, 'every event in windows');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await page.close();
    }
  });
});
