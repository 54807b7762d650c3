// GET /v1/streams/{stream}/health and the live route's `health` events, on the real sluice-query
// with auth on, PostgreSQL and Redis: the per-tenant figures come from the key's tenant's windows
// only (another tenant's key sees its own, never these), the per-stream figures are what the
// processors' partition_health rows say (written here by the processor's own writer and reporter),
// stale partitions are left out of rates and lag, every answer matches the OpenAPI document, and
// `?health=on` sends the same answer as a `health` event.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import type { Db } from '@sluice/shared/db/client';
import { createLogger } from '@sluice/shared/log';
import { topicNames } from '@sluice/shared/streams/registry';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { sql } from 'drizzle-orm';
import { createPartitionHealthReporter, healthWriteTo } from '../../processor/src/partition-health.ts';
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
  per_stream: {
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
  };
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
});

test("per-stream figures are the processors' reports: rates, lag and counts; stale partitions left out", {
  timeout: 60_000,
}, async () => {
  const before = await health('ecommerce', readA);
  assert.equal(before.body.per_stream.partitions_reporting, 0);
  assert.equal(before.body.per_stream.events_in_per_second, null);
  assert.equal(before.body.per_stream.consumer_lag, null);
  assert.equal(before.body.per_stream.dlq, 0);
  assert.ok((before.body.per_stream.watermark_lag_ms ?? 0) >= 90_000);

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
  const first = await health('ecommerce', readA);
  assert.equal(first.body.per_stream.partitions_reporting, 2);
  assert.equal(first.body.per_stream.events_in_per_second, null);
  assert.equal(first.body.per_stream.consumer_lag, 10);
  assert.deepEqual(
    [first.body.per_stream.processed, first.body.per_stream.late, first.body.per_stream.dlq],
    [80, 2, 1],
  );

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
  const second = await health('ecommerce', readA);
  // in: (40 + 20) records in 2 s; processed: (40 + 4) in 2 s; lag: (140-130) + (70-54).
  assert.equal(second.body.per_stream.events_in_per_second, 30);
  assert.equal(second.body.per_stream.events_processed_per_second, 22);
  assert.equal(second.body.per_stream.consumer_lag, 26);
  assert.equal(second.body.per_stream.processed, 100, 'the interval-bound third report wrote nothing');
  assert.equal(second.body.per_stream.dlq, 4);
  // Per stream means the same for every tenant's key (operational, no tenant's data).
  const other = await health('ecommerce', readB);
  assert.deepEqual(
    { ...other.body.per_stream, watermark_lag_ms: 0 },
    { ...second.body.per_stream, watermark_lag_ms: 0 },
  );

  // A partition whose owner stopped reporting is stale: out of rates and lag, counts kept.
  await withKeyDb(iso.databaseUrl, (db) =>
    db.execute(
      sql`update partition_health set updated_at = now() - interval '1 minute' where topic = ${topic} and partition = 1`,
    ),
  );
  const stale = await health('ecommerce', readA);
  assert.equal(stale.body.per_stream.partitions_reporting, 1);
  assert.equal(stale.body.per_stream.events_in_per_second, 20);
  assert.equal(stale.body.per_stream.consumer_lag, 10);
  assert.equal(stale.body.per_stream.dlq, 4);
});

test('health needs a windows:read key and a declared stream', { timeout: 30_000 }, async () => {
  assert.equal((await health('ecommerce', undefined)).status, 401);
  assert.equal((await health('ecommerce', writeA)).status, 403);
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
  assert.equal(event.id, undefined, 'a snapshot has no id to resume from');
  // Another comes within the interval (5 s), not only once.
  await live.next((e) => e.event === 'health' && e !== event, 8_000);
  live.close();
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
