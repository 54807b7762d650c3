// Units of `./sluice load`: the samples derived from a stream's schema parse with the stream's own
// schema (every declared stream, and a schema with every type the generator handles), the same
// seed gives the same pool, a constraint it cannot meet is an error naming the field; the sample
// pool prefers the stream's generator and holds it to the schema and the rules; the profiles map
// to k6's executors and derive the freshness bound from the stream's watermark and windows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineStream, hopping, rule, session, sum, tumbling } from '../../../shared/src/streams/define.ts';
import { STREAMS, streamRegistry } from '../../../shared/src/streams/registry.ts';
import { seededRandom } from '../../../shared/src/streams/samples/ecommerce.ts';
import { freshnessBoundMs, k6Options, loadSettings, parseDurationS } from '../../../tools/load/profiles.ts';
import { POOL_SIZE, samplePool } from '../../../tools/load/sample-pool.ts';
import { schemaSamples } from '../../../tools/load/schema-sample.ts';

const NOW = Date.parse('2026-12-04T21:00:00.000Z');

const everyType = z.object({
  id: z.string().min(1).max(128),
  code: z.string().length(3),
  kind: z.enum(['a', 'b', 'c']),
  literal: z.literal('fixed'),
  small: z.number().int().min(-5).max(5),
  positive: z.number().gt(0).lt(1),
  price: z.number().finite().nonnegative().max(1e12),
  debt: z.number().max(-10),
  flag: z.boolean(),
  email: z.email(),
  uuid: z.uuid(),
  at: z.iso.datetime({ offset: true }),
  note: z.string().optional(),
  maybe: z.number().nullable(),
  tags: z.array(z.string().min(2)).min(1).max(4),
  pair: z.tuple([z.string(), z.number().int()]),
  nested: z.object({ depth: z.number().int().nonnegative(), label: z.string().max(4) }),
  either: z.union([z.number().int().min(100), z.string()]),
  anything: z.unknown(),
});

describe('samples derived from a schema', () => {
  it('parse with the schema of every declared stream', () => {
    for (const stream of STREAMS) {
      const samples = schemaSamples(stream.schema, 200, seededRandom(7), NOW);
      assert.ok(samples.ok, `${stream.name}: ${JSON.stringify(samples)}`);
      assert.equal(samples.value.length, 200);
      for (const sample of samples.value)
        assert.ok(stream.schema.safeParse(sample).success, JSON.stringify(sample));
    }
  });

  it('parse with a schema of every type and bound the generator handles', () => {
    const samples = schemaSamples(everyType, 300, seededRandom(3), NOW);
    assert.ok(samples.ok, JSON.stringify(samples));
    for (const sample of samples.value) everyType.parse(sample);
    const first = everyType.parse(samples.value[0]);
    assert.equal(first.at, new Date(NOW).toISOString(), 'date-times are the time given');
    assert.equal(first.literal, 'fixed');
  });

  it('are low-cardinality text named for the field, and plausible numbers', () => {
    const samples = schemaSamples(
      streamRegistry().get('ecommerce')?.schema ?? z.object({}),
      300,
      seededRandom(1),
      NOW,
    );
    assert.ok(samples.ok);
    const categories = new Set(
      samples.value.map((s) => (s as { product_category: string }).product_category),
    );
    assert.ok(categories.size <= 6 && categories.size > 1, [...categories].join());
    assert.ok([...categories].every((c) => c.startsWith('product_category-')));
    const amounts = samples.value.map((s) => (s as { amount: number }).amount);
    assert.ok(
      amounts.every((a) => a >= 0 && a <= 1_000),
      'an unbounded amount is drawn from a span, not up to 1e12',
    );
  });

  it('are the same for the same seed', () => {
    const a = schemaSamples(everyType, 50, seededRandom(11), NOW);
    const b = schemaSamples(everyType, 50, seededRandom(11), NOW);
    assert.deepEqual(a, b);
  });

  it('refuse a bare pattern, naming the field and the way out', () => {
    const samples = schemaSamples(
      z.object({ sku: z.string().regex(/^[A-Z]{3}-\d{4}$/) }),
      1,
      seededRandom(1),
      NOW,
    );
    assert.equal(samples.ok, false);
    if (!samples.ok)
      assert.match(samples.error.message, /payload\.sku: a string matching .*declare a `sample` generator/);
  });
});

const plain = (sample?: (random: () => number, now: number, index: number) => unknown) =>
  defineStream({
    name: 'plain',
    description: 'a stream for the tests',
    partitions: 1,
    schema: z.object({ key: z.string().min(1), qty: z.number().int().min(-100).max(100) }),
    keyBy: ['key'],
    windows: [tumbling('5m'), hopping('10m', '2m')],
    aggregations: [sum('qty')],
    watermark: '30s',
    allowedLateness: '1m',
    rules: [rule<{ qty: number }>('non_negative', (d) => d.qty >= 0)],
    ...(sample === undefined
      ? {}
      : { sample: sample as (r: () => number, n: number, i: number) => { key: string; qty: number } }),
  });

describe('the sample pool', () => {
  it("uses the stream's generator, held to the schema", () => {
    const pool = samplePool(streamRegistry().get('sales-events') ?? plain(), 5, NOW);
    assert.ok(pool.ok, JSON.stringify(pool));
    assert.equal(pool.value.source, 'generator');
    assert.equal(pool.value.events.length, POOL_SIZE);
    assert.equal(pool.value.idField, 'sale_id');
    assert.equal(pool.value.eventTime, 'timestamp');
    assert.equal(pool.value.timeFormat, 'rfc3339');
  });

  it('derives from the schema when the stream declares no generator, within its rules', () => {
    const pool = samplePool(plain(), 5, NOW);
    assert.ok(pool.ok, JSON.stringify(pool));
    assert.equal(pool.value.source, 'schema');
    assert.equal(pool.value.eventTime, null, 'no event-time field: k6 writes the envelope time');
    assert.ok(pool.value.events.every((e) => (e.qty as number) >= 0));
  });

  it('refuses a generator whose payloads the schema refuses, or that break a rule', () => {
    const wrong = samplePool(
      plain(() => ({ key: '', qty: 1 })),
      5,
      NOW,
    );
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.match(wrong.error.message, /sample generator made a payload its schema refuses/);
    const breaking = samplePool(
      plain(() => ({ key: 'k', qty: -1 })),
      5,
      NOW,
    );
    assert.equal(breaking.ok, false);
    if (!breaking.ok) assert.match(breaking.error.message, /breaks rule 'non_negative'/);
  });

  it('refuses a stream that takes only signed webhook deliveries', () => {
    const pool = samplePool(streamRegistry().get('webhooks') ?? plain(), 5, NOW);
    assert.equal(pool.ok, false);
    if (!pool.ok) assert.match(pool.error.message, /only signed webhook deliveries/);
  });
});

describe('the load profiles', () => {
  const ecommerce = streamRegistry().get('ecommerce') ?? plain();

  it("bound freshness by the stream's watermark plus its finest window period", () => {
    assert.equal(freshnessBoundMs(ecommerce), 60_000 + 60_000);
    // sales-events: a 5-minute watermark; hourly windows every 15 minutes close every 15 minutes.
    assert.equal(freshnessBoundMs(streamRegistry().get('sales-events') ?? plain()), 300_000 + 900_000);
    // A session closes its gap after its last event.
    const sessions = defineStream({
      ...{ name: 's', description: 's', partitions: 1, schema: z.object({ k: z.string() }), keyBy: ['k'] },
      windows: [session('45s')],
      aggregations: [],
      watermark: '10s',
      allowedLateness: '1m',
    });
    assert.equal(freshnessBoundMs(sessions), 10_000 + 45_000);
    assert.equal(freshnessBoundMs(plain()), 30_000 + 120_000);
  });

  it('use the arrival-rate executors, at the rate asked in events per second', () => {
    for (const profile of ['smoke', 'average', 'soak'] as const) {
      const settings = loadSettings(ecommerce, profile, {});
      assert.ok(settings.ok);
      const options = k6Options(settings.value) as {
        scenarios: Record<string, { executor: string; rate: number; timeUnit: string }>;
      };
      assert.equal(options.scenarios.events?.executor, 'constant-arrival-rate');
      // `rate` iterations of `batch` events per `batch` seconds: `rate` events per second.
      assert.equal(options.scenarios.events?.rate, settings.value.rate);
      assert.equal(options.scenarios.events?.timeUnit, `${settings.value.batch}s`);
      assert.equal(options.scenarios.freshness?.executor, 'constant-arrival-rate');
    }
    const spike = loadSettings(ecommerce, 'spike', { rate: 1_000, durationS: 60 });
    assert.ok(spike.ok);
    const options = k6Options(spike.value) as {
      scenarios: Record<string, { executor: string; stages: { target: number }[] }>;
      thresholds: Record<string, string[]>;
    };
    assert.equal(options.scenarios.events?.executor, 'ramping-arrival-rate');
    assert.deepEqual(
      options.scenarios.events?.stages.map((s) => s.target),
      [100, 1_000, 1_000, 100, 100],
    );
    assert.deepEqual(options.thresholds.http_req_failed, ['rate==0']);
    assert.deepEqual(options.thresholds.sluice_freshness, ['p(99)<120000']);
  });

  it('refuse a rate or a duration out of bounds', () => {
    assert.equal(loadSettings(ecommerce, 'average', { rate: 20_001 }).ok, false);
    assert.equal(loadSettings(ecommerce, 'average', { rate: 0 }).ok, false);
    assert.equal(loadSettings(ecommerce, 'soak', { durationS: 5 * 3_600 }).ok, false);
    assert.equal(loadSettings(ecommerce, 'smoke', { durationS: 2 }).ok, false);
    assert.equal(loadSettings(ecommerce, 'smoke', { requestP99Ms: 0 }).ok, false);
    assert.equal(parseDurationS('90s'), 90);
    assert.equal(parseDurationS('5m'), 300);
    assert.equal(parseDurationS('1h'), 3_600);
    assert.equal(parseDurationS('20'), 20);
    assert.equal(parseDurationS('soon'), undefined);
  });

  it('never batch more than a second of events', () => {
    const settings = loadSettings(ecommerce, 'average', { rate: 3 });
    assert.ok(settings.ok);
    assert.equal(settings.value.batch, 3);
  });
});
