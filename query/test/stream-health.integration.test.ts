// GET /v1/streams/{stream}/health and the live route's `health` events, on the real sluice-query
// with auth on, PostgreSQL and Redis: the per-tenant figures come from the key's tenant's windows
// only (another tenant's key sees its own, never these); the per-stream figures (every tenant's
// volume) go only to an operator's key (windows:read and admin) and are null for a plain read key,
// in the route and in the live events alike; they are what the processors' partition_health rows
// say (written here by the processor's own writer and reporter), stale partitions left out of
// rates and lag; a departing owner's counts-only row leaves the new owner's offsets, rates and
// freshness alone; rows not reported for 7 days are pruned; every answer matches the OpenAPI
// document, and `?health=on` sends the same answer as a `health` event.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import type { Db } from '@sluice/shared/db/client';
import { createLogger } from '@sluice/shared/log';
import { topicNames } from '@sluice/shared/streams/registry';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { sql } from 'drizzle-orm';
import {
  createPartitionHealthReporter,
  healthPruneTo,
  healthWriteTo,
} from '../../processor/src/health/partition-health.ts';
import { bearer, createTestKey, withKeyDb } from '../../shared/test/keys.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { openSse } from '../../shared/test/sse-client.ts';
import type { SeededRow } from './seed-windows.ts';
import { writeWindows } from './seed-windows.ts';

const A = 'health-a';
const B = 'health-b';
let iso: Isolation;
let query: ServiceHandle;
let readA: CreatedKey;
let readB: CreatedKey;
let opsA: CreatedKey;
let opsB: CreatedKey;
let adminA: CreatedKey;
let writeA: CreatedKey;
let group: string;
let topic: string;
const ajv = new Ajv2020({ strict: false, allErrors: true });
const minute = (ago: number) => Math.floor(Date.now() / 60_000) * 60_000 - ago * 60_000;

/** Ten minutes of windows of `perWindow` sales each, per category. */
function rowsOf(categories: readonly string[], perWindow: number): SeededRow[] {
  return Array.from({ length: 10 }, (_, m) =>
    categories.map((category) => ({
      start: minute(10 - m),
      category,
      sales: Array.from({ length: perWindow }, (_, j) => ({
        category,
        amount: 1 + j,
        user: `u${j}`,
        time: minute(10 - m) + j,
      })),
      status: 'settled' as const,
      version: 1,
    })),
  ).flat();
}

/** A data-quality window of equipment-metrics (its `plausible_value` rule): passed and rejected known. */
async function qualityWindow(db: Db, tenant: string, start: number, passed: number, rejected: number) {
  const state = { readings: passed, 'quality:passed': passed, 'quality:rejected:plausible_value': rejected };
  const values = {
    readings: passed,
    rejected,
    rejected_plausible_value: rejected,
    quality_score: passed / (passed + rejected),
  };
  await db.execute(sql`
    insert into windows (tenant, stream, "window", window_start, window_end, key, "values", state, status, version)
    values (${tenant}, 'equipment-metrics', '1m', ${new Date(start).toISOString()}::timestamptz,
      ${new Date(start + 60_000).toISOString()}::timestamptz, 'oven-1', ${JSON.stringify(values)}::jsonb,
      ${JSON.stringify(state)}::jsonb, 'settled', 1)`);
}

before(async () => {
  iso = await isolate('stream-health');
  readA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['windows:read'] });
  readB = await createTestKey(iso.databaseUrl, { tenant: B, scopes: ['windows:read'] });
  // The operator's view: a read key that also holds admin (as demo-ops); admin alone reads nothing.
  opsA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['windows:read', 'admin'] });
  opsB = await createTestKey(iso.databaseUrl, { tenant: B, scopes: ['windows:read', 'admin'] });
  adminA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['admin'] });
  // Made before the service starts: its key table holds every key made by then.
  writeA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['events:write'] });
  group = iso.env.SLUICE_CONSUMER_GROUP ?? 'sluice-processor';
  topic = topicNames('ecommerce', iso.topicPrefix).events;
  await withKeyDb(iso.databaseUrl, async (db) => {
    await writeWindows(
      db,
      rowsOf(['Books', 'Sports'], 3),
      { group, topic, watermark: Date.now() - 90_000 },
      A,
    );
    await writeWindows(db, rowsOf(['Other'], 7), { group, topic, watermark: Date.now() - 90_000 }, B);
    await qualityWindow(db, A, minute(3), 45, 5);
    await qualityWindow(db, A, minute(2), 40, 10);
    await qualityWindow(db, B, minute(2), 1, 99);
  });
  query = await startService('query', { ...iso.env, SLUICE_AUTH: 'on', SLUICE_QUERY_LIVE_BLOCK_MS: '500' });
  const doc = (await (await fetch(`${query.url}/openapi.json`)).json()) as Record<string, unknown>;
  ajv.addSchema(doc, 'api');
});

after(async () => {
  await query?.stop();
  await iso?.cleanup();
});

interface PerStream {
  partitions: number;
  partitions_reporting: number;
  events_in_per_second: number | null;
  events_processed_per_second: number | null;
  consumer_lag: number | null;
  watermark: string | null;
  watermark_lag_ms: number | null;
  processed: number;
  late: number;
  dlq: number;
  rejected: number;
}

interface Health {
  stream: string;
  tenant: string;
  as_of: string;
  per_tenant: {
    window: string | null;
    since: string | null;
    events: number | null;
    events_per_second: number | null;
    rejected: number | null;
    quality_score: number | null;
  };
  per_stream: PerStream | null;
}

/** The per-stream part of an operator's answer (present, or the test fails here). */
async function perStream(stream: string, key: CreatedKey): Promise<PerStream> {
  const { status, body } = await health(stream, key);
  assert.equal(status, 200);
  assert.ok(body.per_stream !== null, "an operator's key gets the stream's figures");
  return body.per_stream;
}

/** GET of the health route, checked against the document's schema for its status. */
async function health(
  stream: string,
  key: CreatedKey | undefined,
): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${query.url}/v1/streams/${stream}/health`, {
    headers: key === undefined ? {} : bearer(key.key),
  });
  const body = (await response.json()) as Health;
  const pointer = `/paths/${'/v1/streams/{stream}/health'.replaceAll('/', '~1')}/get/responses/${response.status}/content/application~1json/schema`;
  const validate = ajv.getSchema(`api#${encodeURI(pointer)}`);
  assert.ok(validate, `the document declares ${response.status}`);
  assert.ok(validate(body), `the answer matches the document: ${ajv.errorsText(validate.errors)}`);
  return { status: response.status, body };
}

/** The processor's own reporter, writing rows for the given partitions through the real writer. */
async function report(
  partitions: { partition: number; end: bigint; next: bigint }[],
  counts: { partition: number; processed: number; late: number; dlq: number; rejected: number }[],
  at: number,
) {
  await withKeyDb(iso.databaseUrl, async (db) => {
    const reporter = createPartitionHealthReporter({
      write: healthWriteTo(db),
      group,
      intervalMs: 1,
      now: () => at,
      log: createLogger('test', 'silent'),
    });
    for (const c of counts) reporter.counted(topic, c.partition, c);
    await reporter.report(
      partitions.map((p) => ({ topic, partition: p.partition, nextOffset: p.next })),
      (_, partition) => partitions.find((p) => p.partition === partition)?.end,
    );
  });
}

test("per-tenant figures come from the key's tenant's windows only", { timeout: 60_000 }, async () => {
  const a = await health('ecommerce', readA);
  assert.equal(a.status, 200);
  assert.equal(a.body.tenant, A);
  assert.equal(a.body.per_tenant.window, '1m');
  // 10 windows x 2 categories x 3 sales, all within the last 15 minutes of event time.
  assert.equal(a.body.per_tenant.events, 60);
  const since = Date.parse(a.body.per_tenant.since ?? '');
  const seconds = (Date.parse(a.body.as_of) - since) / 1000;
  assert.ok(Math.abs((a.body.per_tenant.events_per_second ?? 0) - 60 / seconds) < 1e-9);
  assert.equal(a.body.per_tenant.quality_score, null, 'ecommerce has no rules');

  const b = await health('ecommerce', readB);
  assert.equal(b.body.tenant, B);
  assert.equal(b.body.per_tenant.events, 70, "tenant B's own windows, not A's");

  const qa = await health('equipment-metrics', readA);
  assert.equal(qa.body.per_tenant.events, 85);
  assert.equal(qa.body.per_tenant.rejected, 15);
  assert.equal(qa.body.per_tenant.quality_score, 85 / 100);
  const qb = await health('equipment-metrics', readB);
  assert.equal(qb.body.per_tenant.quality_score, 1 / 100, "B's score is its own");
  // A plain read key learns nothing of other tenants' volume: no stream-wide figures at all.
  for (const answer of [a, b, qa, qb]) assert.equal(answer.body.per_stream, null);
  const ops = await health('ecommerce', opsA);
  assert.equal(ops.body.per_tenant.events, 60, "an operator's key reads its own tenant's windows too");
  assert.notEqual(ops.body.per_stream, null);
});

test("per-stream figures are the processors' reports: rates, lag and counts; stale partitions left out", {
  timeout: 60_000,
}, async () => {
  const before = await perStream('ecommerce', opsA);
  assert.equal(before.partitions_reporting, 0);
  assert.equal(before.events_in_per_second, null);
  assert.equal(before.consumer_lag, null);
  assert.equal(before.dlq, 0);
  assert.ok((before.watermark_lag_ms ?? 0) >= 90_000);

  // Two reports 2 s apart of partitions 0 and 1, as a processor's tick writes them.
  const t0 = Date.now() - 2_000;
  await report(
    [
      { partition: 0, end: 100n, next: 90n },
      { partition: 1, end: 50n, next: 50n },
    ],
    [{ partition: 0, processed: 80, late: 2, dlq: 1, rejected: 0 }],
    t0,
  );
  // A fresh reporter has no earlier sample: rates are unknown (null), never made up.
  const first = await perStream('ecommerce', opsA);
  assert.equal(first.partitions_reporting, 2);
  assert.equal(first.events_in_per_second, null);
  assert.equal(first.consumer_lag, 10);
  assert.deepEqual([first.processed, first.late, first.dlq], [80, 2, 1]);
  assert.equal((await health('ecommerce', readA)).body.per_stream, null, 'still none for a read key');

  // One reporter, two ticks: rates from the difference; counts added, not replaced.
  await withKeyDb(iso.databaseUrl, async (db) => {
    let now = t0;
    const reporter = createPartitionHealthReporter({
      write: healthWriteTo(db),
      group,
      intervalMs: 1_000,
      now: () => now,
      log: createLogger('test', 'silent'),
    });
    const ends = new Map([
      [0, 100n],
      [1, 50n],
    ]);
    const owned = [
      { topic, partition: 0, nextOffset: 90n },
      { topic, partition: 1, nextOffset: 50n },
    ];
    await reporter.report(owned, (_, p) => ends.get(p));
    now = t0 + 2_000;
    ends.set(0, 140n);
    ends.set(1, 70n);
    reporter.counted(topic, 0, { processed: 20, late: 0, dlq: 3, rejected: 0 });
    await reporter.report(
      [
        { topic, partition: 0, nextOffset: 130n },
        { topic, partition: 1, nextOffset: 54n },
      ],
      (_, p) => ends.get(p),
    );
    // Within the interval nothing is written (bounded: one statement per interval at most).
    reporter.counted(topic, 1, { processed: 1000, late: 0, dlq: 0, rejected: 0 });
    await reporter.report(owned, (_, p) => ends.get(p));
  });
  const second = await perStream('ecommerce', opsA);
  // in: (40 + 20) records in 2 s; processed: (40 + 4) in 2 s; lag: (140-130) + (70-54).
  assert.equal(second.events_in_per_second, 30);
  assert.equal(second.events_processed_per_second, 22);
  assert.equal(second.consumer_lag, 26);
  assert.equal(second.processed, 100, 'the interval-bound third report wrote nothing');
  assert.equal(second.dlq, 4);
  // Per stream means the same for every tenant's operator key (the whole topic's figures).
  const other = await perStream('ecommerce', opsB);
  assert.deepEqual({ ...other, watermark_lag_ms: 0 }, { ...second, watermark_lag_ms: 0 });

  // A partition whose owner stopped reporting is stale: out of rates and lag, counts kept.
  await withKeyDb(iso.databaseUrl, (db) =>
    db.execute(
      sql`update partition_health set updated_at = now() - interval '1 minute' where topic = ${topic} and partition = 1`,
    ),
  );
  const stale = await perStream('ecommerce', opsA);
  assert.equal(stale.partitions_reporting, 1);
  assert.equal(stale.events_in_per_second, 20);
  assert.equal(stale.consumer_lag, 10);
  assert.equal(stale.dlq, 4);
});

test('health needs a windows:read key and a declared stream', { timeout: 30_000 }, async () => {
  assert.equal((await health('ecommerce', undefined)).status, 401);
  assert.equal((await health('ecommerce', writeA)).status, 403);
  assert.equal((await health('ecommerce', adminA)).status, 403, 'admin alone is no read key');
  assert.equal((await health('no-such-stream', readA)).status, 404);
});

test('the live route sends the same answer as `health` events with ?health=on, per tenant', {
  timeout: 30_000,
}, async () => {
  const live = await openSse(`${query.url}/v1/streams/ecommerce/live?health=on`, bearer(readB.key));
  const event = await live.next((e) => e.event === 'health', 5_000);
  const body = JSON.parse(event.data) as Health;
  assert.equal(body.tenant, B);
  assert.equal(body.per_tenant.events, 70);
  assert.equal(body.per_stream, null, "a plain read key's live events carry no stream-wide figures");
  assert.equal(event.id, undefined, 'a snapshot has no id to resume from');
  // Another comes within the interval (5 s), not only once.
  const again = await live.next((e) => e.event === 'health' && e !== event, 8_000);
  assert.equal((JSON.parse(again.data) as Health).per_stream, null);
  live.close();
  // An operator's key of the same tenant gets them (its own snapshot, never the read key's).
  const ops = await openSse(`${query.url}/v1/streams/ecommerce/live?health=on`, bearer(opsB.key));
  const opsBody = JSON.parse((await ops.next((e) => e.event === 'health', 5_000)).data) as Health;
  ops.close();
  assert.equal(opsBody.tenant, B);
  assert.equal(opsBody.per_tenant.events, 70);
  assert.deepEqual(
    { ...opsBody.per_stream, watermark_lag_ms: 0 },
    { ...(await perStream('ecommerce', opsB)), watermark_lag_ms: 0 },
  );
  const plain = await openSse(`${query.url}/v1/streams/ecommerce/live`, bearer(readB.key));
  await plain.next((e) => e.event === 'ready', 5_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.ok(!plain.events.some((e) => e.event === 'health'), 'none without asking');
  plain.close();
  const bad = await fetch(`${query.url}/v1/streams/ecommerce/live?health=yes`, {
    headers: bearer(readB.key),
  });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

/** A partition_health row as stored (offsets and rates as the writer left them). */
async function rowOf(t: string, partition: number) {
  return withKeyDb(iso.databaseUrl, async (db) => {
    const rows = await db.execute<{
      next_offset: string | null;
      end_offset: string | null;
      in_per_second: number | null;
      processed_per_second: number | null;
      processed: string;
      updated_ms: string;
    }>(sql`
      select next_offset::text as next_offset, end_offset::text as end_offset, in_per_second,
        processed_per_second, processed::text as processed,
        (extract(epoch from updated_at) * 1000)::bigint::text as updated_ms
      from partition_health where consumer_group = ${group} and topic = ${t} and partition = ${partition}`);
    return rows[0];
  });
}

test("a departing owner's counts-only row adds its counts and leaves the new owner's figures alone", {
  timeout: 30_000,
}, async () => {
  // A topic of its own: the figures the other tests read stay as they were.
  const t = `${topic}-handover`;
  await withKeyDb(iso.databaseUrl, async (db) => {
    let now = Date.now() - 2_000;
    const newOwner = createPartitionHealthReporter({
      write: healthWriteTo(db),
      group,
      intervalMs: 1_000,
      now: () => now,
      log: createLogger('test', 'silent'),
    });
    await newOwner.report([{ topic: t, partition: 3, nextOffset: 100n }], () => 120n);
    now += 2_000;
    await newOwner.report([{ topic: t, partition: 3, nextOffset: 140n }], () => 160n);
  });
  const owned = await rowOf(t, 3);
  assert.ok(owned !== undefined);
  assert.equal(owned.in_per_second, 20);
  assert.equal(owned.processed_per_second, 20);
  // The old owner's counts of a batch it committed before the partition moved: no offsets, no rates.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await withKeyDb(iso.databaseUrl, async (db) => {
    const departed = createPartitionHealthReporter({
      write: healthWriteTo(db),
      group,
      intervalMs: 1_000,
      now: Date.now,
      log: createLogger('test', 'silent'),
    });
    departed.counted(t, 3, { processed: 7, late: 0, dlq: 0, rejected: 0 });
    departed.counted(t, 4, { processed: 9, late: 0, dlq: 0, rejected: 0 });
    await departed.report([], () => undefined);
  });
  const after = await rowOf(t, 3);
  assert.deepEqual(
    { ...after, processed: undefined },
    { ...owned, processed: undefined },
    "the new owner's offsets, rates and updated_at, untouched",
  );
  assert.equal(Number(after?.processed), Number(owned.processed) + 7, 'the counts added');
  // A counts-only first row is no report: its partition is not counted as reporting.
  const orphan = await rowOf(t, 4);
  assert.equal(orphan?.processed, '9');
  assert.equal(orphan?.in_per_second, null);
  assert.ok(Date.now() - Number(orphan?.updated_ms) > 15_000, 'stale from the start');
});

test('rows not reported for 7 days are pruned in one statement; newer ones stay', {
  timeout: 30_000,
}, async () => {
  const t = `${topic}-gone`;
  await withKeyDb(iso.databaseUrl, async (db) => {
    await db.execute(sql`
      insert into partition_health (consumer_group, topic, partition, updated_at) values
        (${group}, ${t}, 0, now() - interval '8 days'),
        (${group}, ${t}, 1, now() - interval '6 days 23 hours'),
        (${group}, ${t}, 2, now())`);
    const deleted = await healthPruneTo(db)();
    assert.equal(deleted, 1);
    const left = await db.execute<{ partition: number }>(
      sql`select partition from partition_health where topic = ${t} order by partition`,
    );
    assert.deepEqual(
      left.map((r) => r.partition),
      [1, 2],
    );
  });
});
