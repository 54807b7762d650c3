// End to end: known ecommerce events (several categories, several minutes, some out of order
// within the watermark) go in through the edge on Deno, the edge on Bun and ingest directly; the
// query API must show every window settled with exactly the count, sum, min, max and avg computed
// here. NDJSON (plain and gzip) is sent and every answer read with @sluice/client, as a user
// would; JSON arrays and CloudEvents batches, bodies the client does not make, are posted raw.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EventSender, QueryClient } from '@sluice/client';
import { createEvents, createQueryClient } from '@sluice/client';
import { waitFor } from '../../shared/test/harness.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import type { Transaction } from '../../tools/ecommerce-data.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { expectedWindows, mismatch } from './expected.ts';

const BASE = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTES = 5;
const EVENTS = 900;

let iso: Isolation;
const services: ServiceHandle[] = [];
let ingest: ServiceHandle;
let query: ServiceHandle;
let edgeDeno: ServiceHandle;
let edgeBun: ServiceHandle;
let reads: QueryClient;

before(async () => {
  iso = await isolate('e2e');
  // A short idle timeout: after the last event the watermark advances by wall clock and settles
  // the final windows (guarantee 7) within seconds; long enough that no partition goes idle while
  // the workload is still arriving (that would make the rest of this historical workload late).
  const env = { ...iso.env, SLUICE_IDLE_TIMEOUT_MS: '5000', SLUICE_TICK_MS: '250' };
  ingest = await startService('ingest', env);
  services.push(ingest);
  services.push(await startService('processor', env));
  query = await startService('query', env);
  services.push(query);
  const edgeEnv = { ...env, SLUICE_INGEST_URL: ingest.url };
  edgeDeno = await startService('edge', edgeEnv, 'deno');
  services.push(edgeDeno);
  edgeBun = await startService('edge', edgeEnv, 'bun');
  services.push(edgeBun);
  reads = createQueryClient({ url: query.url });
});

after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await iso.cleanup();
});

/** Event times across MINUTES minutes in order, each jittered back by up to 30 s (< the 1 m watermark). */
function workload(): Transaction[] {
  const random = seededRandom(42);
  const span = MINUTES * 60_000;
  return Array.from({ length: EVENTS }, (_, i) => {
    const nominal = BASE + Math.floor((i / EVENTS) * span);
    const jitter = Math.floor(random() * 30_000);
    return makeTransaction(random, `e2e-${i}`, Math.max(BASE, nominal - jitter));
  });
}

/** Sends a chunk with the client and waits for its verdicts: every event accepted. */
async function sendChunk(sender: EventSender, events: readonly ReturnType<typeof envelope>[]) {
  const sent = [];
  for (const event of events) sent.push(await sender.send(event));
  await sender.flush();
  const verdicts = await Promise.all(sent.map((s) => s.verdict));
  assert.deepEqual(
    verdicts.filter((v) => v.status !== 'accepted'),
    [],
  );
  return verdicts.length;
}

async function post(url: string, body: string | Uint8Array, headers: Record<string, string>) {
  const response = await fetch(`${url}/v1/events`, { method: 'POST', headers, body });
  const json = (await response.json()) as { accepted: number; rejected: unknown[] };
  assert.equal(response.status, 202, `POST ${url}: ${JSON.stringify(json)}`);
  assert.equal(json.rejected.length, 0);
  return json.accepted;
}

test('windows from edge (Deno and Bun) and ingest settle with exact aggregates', {
  timeout: 180_000,
}, async () => {
  const sent = workload();
  let accepted = 0;
  const chunk = 50;
  // Chunks go one after another, rotating through the entry points and the body formats; the
  // client's ids travel with its events (the stream's transaction_id would do as well).
  const plain = new Map<ServiceHandle, EventSender>();
  const zipped = new Map<ServiceHandle, EventSender>();
  for (const target of [edgeDeno, edgeBun, ingest]) {
    plain.set(target, createEvents({ url: target.url, gzip: false }));
    zipped.set(target, createEvents({ url: target.url, gzip: true }));
  }
  for (let i = 0; i < sent.length; i += chunk) {
    const slice = sent.slice(i, i + chunk).map(envelope);
    const target = [edgeDeno, edgeBun, ingest][(i / chunk) % 3] ?? ingest;
    const format = (i / chunk) % 4;
    if (format === 0)
      accepted += await post(target.url, JSON.stringify(slice), { 'content-type': 'application/json' });
    const sender = (format === 1 ? plain : zipped).get(target);
    if ((format === 1 || format === 2) && sender !== undefined) accepted += await sendChunk(sender, slice);
    if (format === 3) {
      const batch = slice.map((e) => ({
        specversion: '1.0',
        id: e.data.transaction_id,
        type: 'ecommerce',
        source: '/e2e',
        data: e.data,
      }));
      accepted += await post(target.url, JSON.stringify(batch), {
        'content-type': 'application/cloudevents-batch+json',
      });
    }
  }
  await Promise.all([...plain.values(), ...zipped.values()].map((sender) => sender.close()));
  assert.equal(accepted, EVENTS);

  const expected = expectedWindows(sent);
  const from = new Date(BASE).toISOString();
  const to = new Date(BASE + (MINUTES + 1) * 60_000).toISOString();
  const rows = await waitFor(
    async () => {
      const { data } = await reads.windows('ecommerce', { from, to, limit: 1000 });
      const settled = data?.data.filter((r) => r.status === 'settled') ?? [];
      return settled.length === expected.size ? data?.data : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `${expected.size} settled windows` },
  );

  assert.equal(rows.length, expected.size, 'one row per (minute, category) that had events');
  for (const row of rows) {
    const want = expected.get(`${Date.parse(row.window_start)}|${row.key}`);
    assert.ok(want, `unexpected window ${row.window_start} ${row.key}`);
    assert.equal(mismatch(row, want), undefined);
    assert.equal(row.status, 'settled');
    assert.equal(row.version, 1);
  }

  // Rolled up over categories: one row per minute with the totals of that minute.
  const rolled = await reads.windows('ecommerce', { from, to, group_by: 'none' });
  assert.equal(rolled.data?.data.length, MINUTES);
  for (const row of rolled.data?.data ?? []) {
    const start = Date.parse(row.window_start);
    const inMinute = sent.filter((t) => {
      const time = Date.parse(t.timestamp);
      return time - (time % 60_000) === start;
    });
    assert.equal(row.values.count, inMinute.length);
    assert.equal(row.values.sum_amount, inMinute.reduce((s, t) => s + Math.round(t.amount * 100), 0) / 100);
  }
});

test('window responses carry ETag and X-Watermark, and If-None-Match answers 304', async () => {
  const range = { from: '2026-03-01T12:00:00Z', to: '2026-03-01T12:06:00Z' };
  const first = await reads.windows('ecommerce', range);
  assert.equal(first.response.status, 200);
  const etag = first.response.headers.get('etag');
  assert.ok(etag);
  assert.ok(
    Date.parse(first.response.headers.get('x-watermark') ?? '') > Date.parse('2026-03-01T12:05:00Z'),
    'watermark past the range',
  );
  const second = await reads.windows('ecommerce', range, { ifNoneMatch: etag });
  assert.equal(second.response.status, 304);
  const changed = await reads.windows('ecommerce', range, { ifNoneMatch: '"stale"' });
  assert.equal(changed.response.status, 200);
});

test('query errors use the one envelope', async () => {
  const unknown = await reads.windows('nope');
  assert.equal(unknown.response.status, 404);
  assert.equal(unknown.error?.error.code, 'not_found');
  const invalid = await reads.windows('ecommerce', { window: '90s', limit: 0 });
  assert.equal(invalid.response.status, 400);
  assert.equal(invalid.error?.error.code, 'validation_failed');
  const details = invalid.error?.error.details as { path: string }[];
  assert.deepEqual(details.map((d) => d.path).sort(), ['limit', 'window']);
  const streams = await reads.streams();
  assert.deepEqual(
    streams.data?.data.map((s) => s.name),
    ['ecommerce', 'sales-events', 'equipment-metrics', 'inventory-updates', 'webhooks'],
  );
});
