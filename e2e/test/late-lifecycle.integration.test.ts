// Guarantee 3 end to end, against real Kafka, PostgreSQL and Redis: a late event within the allowed
// lateness amends its settled window (status amended, version + 1) and the query API's cached
// answer for it is invalidated at once, not after its TTL; a later one goes to `<stream>.late`
// and changes nothing; `./sluice replay late` re-injects it as a backfill that amends the window.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { postTransactions } from '../../shared/test/ingest-client.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, ROOT, startService } from '../../shared/test/services.ts';
import type { Transaction } from '../../tools/ecommerce-data.ts';

const run = promisify(execFile);
const stack = stackEnv();
const MINUTE = 60_000;
let iso: Isolation;
let env: Record<string, string>;
const services: ServiceHandle[] = [];
let ingest: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  iso = await isolate('late');
  // Idle partitions advance their watermark to wall clock minus 1 minute within seconds.
  env = { ...iso.env, SLUICE_IDLE_TIMEOUT_MS: '2000', SLUICE_TICK_MS: '250' };
  ingest = await startService('ingest', env);
  services.push(ingest, await startService('processor', env));
  query = await startService('query', env);
  services.push(query);
});

after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await iso.cleanup();
});

const sale = (id: string, time: number, amount: number): Transaction => ({
  transaction_id: id,
  user_id: 'user_1',
  product_category: 'Books',
  product_name: 'late-lifecycle',
  amount,
  timestamp: new Date(time).toISOString(),
  payment_method: 'paypal',
});

const send = (batch: readonly Transaction[]) => postTransactions(ingest.url, batch);

interface Row {
  key: string;
  values: { count: number; sum_amount: number; max_amount: number };
  status: string;
  version: number;
}

async function windowOf(
  start: number,
): Promise<{ row: Row | undefined; etag: string | null; response: Response }> {
  const url = `${query.url}/v1/streams/ecommerce/windows?window=1m&group_by=product_category&from=${new Date(start).toISOString()}&to=${new Date(start + MINUTE).toISOString()}`;
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { data: Row[] };
  return { row: body.data.find((r) => r.key === 'Books'), etag: response.headers.get('etag'), response };
}

async function cacheHits(): Promise<number> {
  const text = await (await fetch(`${query.url}/metrics`)).text();
  return Number(/sluice_query_cache_requests_total\{[^}]*result="hit"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
}

test('late within lateness amends and invalidates the cache; beyond goes to .late; replay amends', {
  timeout: 180_000,
}, async () => {
  // A window that ends at least 3 minutes ago: settled once the idle watermark (now - 1 m) passes
  // it, and still within the 5 minutes of allowed lateness for the next minute or so.
  const start = Math.floor((Date.now() - 4 * MINUTE) / MINUTE) * MINUTE;
  await send([
    sale('late-a', start + 5_000, 10),
    sale('late-b', start + 10_000, 20),
    sale('late-c', start + 15_000, 30),
  ]);
  const settled = await waitFor(
    async () => {
      const seen = await windowOf(start);
      return seen.row?.status === 'settled' ? seen : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the window settled' },
  );
  assert.deepEqual(
    [settled.row?.values.count, settled.row?.values.sum_amount, settled.row?.version],
    [3, 60, 1],
  );
  // The settled answer is complete: cached for an hour, and served from Redis now.
  const hitsBefore = await cacheHits();
  const again = await windowOf(start);
  assert.equal(again.etag, settled.etag);
  assert.equal(await cacheHits(), hitsBefore + 1, 'the second read is a cache hit');

  // Within the allowed lateness: an amendment, visible at once despite the hour-long cache entry.
  await send([sale('late-d', start + 20_000, 40)]);
  const amended = await waitFor(
    async () => {
      const seen = await windowOf(start);
      return seen.row?.status === 'amended' ? seen : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'the amended window through the cached query' },
  );
  assert.deepEqual(
    [
      amended.row?.values.count,
      amended.row?.values.sum_amount,
      amended.row?.values.max_amount,
      amended.row?.version,
    ],
    [4, 100, 40, 2],
  );
  assert.notEqual(amended.etag, settled.etag, 'a new ETag for the new version');
  const conditional = await fetch(
    `${query.url}/v1/streams/ecommerce/windows?window=1m&group_by=product_category&from=${new Date(start).toISOString()}&to=${new Date(start + MINUTE).toISOString()}`,
    { headers: { 'if-none-match': settled.etag ?? '' } },
  );
  assert.equal(conditional.status, 200, 'the old ETag no longer matches');
  await conditional.body?.cancel();

  // Beyond the allowed lateness (the window ended over 6 minutes before the watermark): late topic.
  const old = start - 10 * MINUTE;
  await send([sale('late-e', old + 30_000, 50)]);
  const topics = topicNames('ecommerce', iso.topicPrefix);
  const [late] = await readTopic(stack.kafkaBrokers, topics.late, 1);
  assert.ok(late, 'the event beyond lateness is in the late topic');
  assert.equal(late.headers['sluice-late-reason'], 'beyond-allowed-lateness');
  assert.equal((await windowOf(old)).row, undefined, 'and counted in no window');

  // Replay: the late event comes back as a backfill and amends (here: creates) its window.
  const { stdout } = await run(
    'node',
    [`${ROOT}tools/replay.ts`, 'late', '--stream', 'ecommerce', '--idle-ms', '1500'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 120_000,
    },
  );
  assert.match(stdout, /replayed 1 late event/);
  const backfilled = await waitFor(
    async () => {
      const seen = await windowOf(old);
      return seen.row === undefined ? undefined : seen;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the backfilled window' },
  );
  assert.deepEqual(
    [backfilled.row?.values.count, backfilled.row?.values.sum_amount, backfilled.row?.status],
    [1, 50, 'amended'],
  );
  // A second replay finds nothing new: the replay group committed what it re-injected.
  const second = await run(
    'node',
    [`${ROOT}tools/replay.ts`, 'late', '--stream', 'ecommerce', '--idle-ms', '1500'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 120_000,
    },
  );
  assert.match(second.stdout, /replayed 0 late event/);
  assert.equal((await windowOf(old)).row?.values.count, 1);
  assert.equal((await windowOf(start)).row?.values.count, 4);
});
