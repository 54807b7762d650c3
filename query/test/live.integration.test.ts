// The live endpoint's contract on the real Redis, fed by hand the way the processor feeds it (one
// Redis Stream entry per commit): a `windows` event per entry with the entry id as its SSE id,
// `window=` narrowing, Last-Event-ID resuming exactly after an id, a `gap` event when entries
// after it were trimmed, bounded clients (503 past the cap) and clear errors; `health` events of
// every connection of a tenant come from one shared read per 5 s, not one per connection.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { feedKey } from '@sluice/shared/live/window-updates';
import type { SseClient } from '../../shared/test/sse-client.ts';
import { readSse } from '../../shared/test/sse-client.ts';
import type { QueryHarness } from './in-process.ts';
import { startQuery } from './in-process.ts';

let q: QueryHarness;
let feed: string;
/** Reads of partition_health the health events made (one per health snapshot of an operator). */
let healthReads = 0;

before(async () => {
  q = await startQuery('live', {
    wrapHealthRepo: (repo) => ({
      ...repo,
      partitions: (group, topic) => {
        healthReads += 1;
        return repo.partitions(group, topic);
      },
    }),
  });
  feed = feedKey(q.iso.env.SLUICE_CACHE_PREFIX ?? '', 'default', 'equipment-metrics');
});

after(() => q.close());

const update = (window: string, key: string, count: number): WindowUpdate => ({
  stream: 'equipment-metrics',
  window,
  window_start: '2026-05-01T00:00:00.000Z',
  window_end: '2026-05-01T00:01:00.000Z',
  key,
  values: { readings: count },
  status: 'provisional',
  version: 1,
  trace_id: null,
  removed: false,
});

/** Appends one commit's updates as the processor does; returns the entry id. */
async function commit(...updates: WindowUpdate[]): Promise<string> {
  const id = await q.redis.xadd(feed, '*', 'u', JSON.stringify(updates));
  assert.ok(id);
  return id;
}

async function open(query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const response = await q.app.request(`/v1/streams/equipment-metrics/live${query}`, { headers });
  assert.equal(response.status, 200);
  const client = readSse(response);
  await client.next((e) => e.event === 'ready', 3_000);
  return client;
}

const keysOf = (client: SseClient) =>
  client.events
    .filter((e) => e.event === 'windows')
    .map((e) => (JSON.parse(e.data) as WindowUpdate[]).map((u) => `${u.window}:${u.key}`));

test('one windows event per commit, its id the entry id; window= narrows; resume after an id', async () => {
  const all = await open();
  const sessions = await open('?window=session:10m');
  const first = await commit(update('1m', 'oven-1', 1), update('session:10m', 'oven-1', 1));
  const second = await commit(update('1m', 'oven-2', 1));
  const third = await commit(update('session:10m', 'oven-2', 4));
  await all.next((e) => e.id === third, 3_000);
  await sessions.next((e) => e.id === third, 3_000);
  assert.deepEqual(
    all.events.filter((e) => e.event === 'windows').map((e) => e.id),
    [first, second, third],
  );
  assert.deepEqual(keysOf(all), [['1m:oven-1', 'session:10m:oven-1'], ['1m:oven-2'], ['session:10m:oven-2']]);
  assert.deepEqual(keysOf(sessions), [['session:10m:oven-1'], ['session:10m:oven-2']]);
  all.close();
  sessions.close();

  const resumed = await open('', { 'last-event-id': first });
  await resumed.next((e) => e.id === third, 3_000);
  assert.deepEqual(keysOf(resumed), [['1m:oven-2'], ['session:10m:oven-2']]);
  assert.ok(!resumed.events.some((e) => e.event === 'gap'));
  resumed.close();
});

test('a resume from an id the feed no longer holds starts with a gap event', async () => {
  const old = await commit(update('1m', 'oven-3', 1));
  for (let i = 0; i < 5; i += 1) await commit(update('1m', `oven-${10 + i}`, 1));
  await q.redis.xtrim(feed, 'MAXLEN', 2);
  const last = await commit(update('1m', 'oven-99', 1));
  const resumed = await open('', { 'last-event-id': old });
  const gap = await resumed.next((e) => e.event === 'gap', 3_000);
  assert.deepEqual(JSON.parse(gap.data), { after: old });
  await resumed.next((e) => e.id === last, 3_000);
  assert.deepEqual(keysOf(resumed), [['1m:oven-13'], ['1m:oven-14'], ['1m:oven-99']]);
  resumed.close();
});

test('clients are capped (503 with Retry-After), and bad input is a clear error', async () => {
  const clients = await Promise.all([1, 2, 3, 4, 5].map(() => open()));
  const refused = await q.app.request('/v1/streams/equipment-metrics/live');
  assert.equal(refused.status, 503);
  assert.ok(refused.headers.get('retry-after'));
  for (const c of clients) c.close();
  // A closed client's slot frees once its blocking read returns (1 s here).
  let again = await q.app.request('/v1/streams/equipment-metrics/live');
  for (let i = 0; i < 30 && again.status === 503; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    again = await q.app.request('/v1/streams/equipment-metrics/live');
  }
  assert.equal(again.status, 200);
  await again.body?.cancel();

  const badId = await q.app.request('/v1/streams/equipment-metrics/live', {
    headers: { 'last-event-id': 'x' },
  });
  assert.equal(badId.status, 400);
  assert.equal(((await badId.json()) as { error: { code: string } }).error.code, 'validation_failed');
  assert.equal((await q.app.request('/v1/streams/equipment-metrics/live?window=2m')).status, 400);
  assert.equal((await q.app.request('/v1/streams/nope/live')).status, 404);
});

test('?health=on: the connections of one tenant share one health read per 5 s', {
  timeout: 30_000,
}, async () => {
  const before = healthReads;
  const clients = await Promise.all([1, 2, 3].map(() => open('?health=on')));
  const healthEvents = (c: SseClient) => c.events.filter((e) => e.event === 'health').length;
  // Each connection gets its first event at once and its second about 5 s later.
  for (const c of clients) await c.next(() => healthEvents(c) >= 2, 12_000);
  const reads = healthReads - before;
  for (const c of clients) c.close();
  // One per client per event would be 6; shared, it is one per interval (3 at most, a boundary).
  assert.ok(reads >= 2 && reads <= 3, `${reads} health reads for 3 connections x 2 events`);
  // Every connection got the same snapshot each time.
  const firsts = clients.map((c) => c.events.find((e) => e.event === 'health')?.data);
  assert.equal(new Set(firsts).size, 1);
  const health = JSON.parse(firsts[0] ?? '{}') as { tenant: string; per_stream: unknown };
  assert.equal(health.tenant, 'default');
  assert.notEqual(health.per_stream, null, 'auth off: every scope, the operator view too');
});
