// DLQ replay end to end against real Kafka, PostgreSQL and Redis (issue 23 item 7): a processor
// running a schema too strict for its traffic dead-letters the larger sales; `./sluice dlq list`
// and `show` print them with their reasons; after the schema fix (the built-in stream), a dry run
// counts what would pass and writes nothing, the replay counts every fixed event exactly once in
// its tenant's windows, a dead letter that still fails stays, and a second replay adds nothing.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { encodeEvent } from '@sluice/shared/events/envelope';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { ROOT, testPipeline } from '../../shared/test/services.ts';

const run = promisify(execFile);
const stack = stackEnv();
const MINUTE = 60_000;
const STRICT = `${ROOT}e2e/test/fixtures/strict-amount-stream.ts`;
let pipeline: TestPipeline;
let processor: ServiceHandle;
let producer: KafkaJS.Producer;
let admin: KafkaJS.Admin;

before(async () => {
  pipeline = await testPipeline('dlq', {
    SLUICE_IDLE_TIMEOUT_MS: '2000',
    SLUICE_TICK_MS: '250',
    SLUICE_STREAMS: 'ecommerce',
  });
  processor = await pipeline.start('processor', { SLUICE_STREAMS_MODULE: STRICT });
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: stack.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  });
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
});

after(async () => {
  await Promise.all([producer.disconnect(), admin.disconnect()]);
  await pipeline.close();
});

interface Sale {
  readonly id: string;
  readonly tenant: string;
  readonly category: string;
  readonly amount: number;
  readonly time: number;
}

/** Produces sales straight into the events topic as ingest writes them (tenant from its key). */
async function produce(sales: readonly Sale[]): Promise<void> {
  await producer.send({
    topic: topicNames('ecommerce', pipeline.iso.topicPrefix).events,
    messages: sales.map((s) => ({
      key: s.category,
      value: encodeEvent({
        id: s.id,
        stream: 'ecommerce',
        tenant: s.tenant,
        time: s.time,
        receivedAt: Date.now(),
        key: s.category,
        data: {
          transaction_id: s.id,
          user_id: 'user-1',
          product_category: s.category,
          product_name: 'dlq-replay',
          amount: s.amount,
          timestamp: new Date(s.time).toISOString(),
          payment_method: 'paypal',
        },
      }),
    })),
  });
}

/** `./sluice dlq ...` as a user runs it, with the pipeline's environment. */
async function dlq(args: readonly string[], module?: string): Promise<string> {
  const env: Record<string, string | undefined> = { ...process.env, ...pipeline.iso.env };
  if (module === undefined) delete env.SLUICE_STREAMS_MODULE;
  else env.SLUICE_STREAMS_MODULE = module;
  const { stdout } = await run('node', [`${ROOT}tools/dlq.ts`, ...args, '--stream', 'ecommerce'], {
    cwd: ROOT,
    env,
    timeout: 120_000,
  });
  return stdout;
}

/** Per tenant, window start and key: count and sum, as the windows table holds them. */
async function windows(): Promise<Map<string, { count: number; sum: number }>> {
  const rows = await pipeline.sql<
    { tenant: string; start: Date; key: string; values: Record<string, number> }[]
  >`
    select tenant, window_start as start, key, values from windows where stream = 'ecommerce' and "window" = '1m'`;
  return new Map(
    rows.map((r) => [
      `${r.tenant}|${r.start.toISOString()}|${r.key}`,
      { count: r.values.count ?? 0, sum: r.values.sum_amount ?? 0 },
    ]),
  );
}

function expected(sales: readonly Sale[]): Map<string, { count: number; sum: number }> {
  const out = new Map<string, { count: number; cents: number }>();
  for (const s of sales) {
    const start = new Date(Math.floor(s.time / MINUTE) * MINUTE).toISOString();
    const id = `${s.tenant}|${start}|${s.category}`;
    const w = out.get(id) ?? { count: 0, cents: 0 };
    w.count += 1;
    w.cents += Math.round(s.amount * 100);
    out.set(id, w);
  }
  return new Map([...out].map(([id, w]) => [id, { count: w.count, sum: w.cents / 100 }]));
}

const sorted = (m: Map<string, { count: number; sum: number }>) =>
  [...m].sort(([a], [b]) => a.localeCompare(b));

/** Waits until the windows are `want` exactly (and stay so for a moment). */
async function windowsBecome(want: Map<string, { count: number; sum: number }>, what: string): Promise<void> {
  await waitFor(
    async () => {
      const have = await windows();
      return JSON.stringify(sorted(have)) === JSON.stringify(sorted(want)) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what },
  ).catch(async (error: unknown) => {
    assert.deepEqual(
      sorted(await windows()),
      sorted(want),
      `${String(error)}\n${processor.output().slice(-3_000)}`,
    );
  });
}

/** Every record of the events topic handled: the committed offsets reach the topic's end. */
async function drained(): Promise<void> {
  const events = topicNames('ecommerce', pipeline.iso.topicPrefix).events;
  const end = (await admin.fetchTopicOffsets(events)).reduce((n, p) => n + Number(p.high), 0);
  await waitFor(
    async () => {
      const [row] = await pipeline.sql<{ n: string }[]>`
        select coalesce(sum(next_offset), 0)::text as n from source_offsets`;
      return Number(row?.n) >= end ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `the processor past all ${end} records` },
  );
}

const endOffsets = async (topic: string) =>
  (await admin.fetchTopicOffsets(topic)).map((p) => `${p.partition}:${p.high}`).join(' ');

test('dead letters listed with reasons, replayed exactly once after a schema fix', {
  timeout: 280_000,
}, async () => {
  const topics = topicNames('ecommerce', pipeline.iso.topicPrefix);
  const base = Math.floor((Date.now() - 5 * MINUTE) / MINUTE) * MINUTE;
  const sale = (id: string, tenant: string, category: string, amount: number, minute: number): Sale => ({
    id,
    tenant,
    category,
    amount,
    time: base + minute * MINUTE + 7_000,
  });
  const categories = ['Books', 'Sports', 'Beauty'];
  const ok = Array.from({ length: 24 }, (_, i) =>
    sale(`ok-${i}`, i % 4 === 0 ? 'globex' : 'acme', categories[i % 3] ?? 'Books', 10 + i, i % 3),
  );
  // Over 100: dead letters under the strict schema (step validate), fine under the fixed one.
  const big = Array.from({ length: 8 }, (_, i) =>
    sale(`big-${i}`, i % 4 === 0 ? 'globex' : 'acme', categories[i % 3] ?? 'Books', 150 + i, i % 3),
  );
  // Refused by both schemas: it stays in the DLQ.
  const broken = sale('broken-0', 'acme', 'Books', -5, 1);
  // Fixable, after the one that stays: a second replay sends it again (the position stops at the
  // broken one), and the event-id dedup counts it once.
  const tail = [sale('big-tail-0', 'acme', 'Sports', 250, 2), sale('big-tail-1', 'globex', 'Beauty', 260, 0)];

  await produce([...ok, ...big]);
  // One DLQ partition: the dead letters in this order (big, then broken, then the tail).
  await waitFor(
    async () => ((await readTopic(stack.kafkaBrokers, topics.dlq, 8, 2_000)).length >= 8 ? true : undefined),
    {
      timeoutMs: 60_000,
      what: 'the 8 large sales dead-lettered',
    },
  );
  await produce([broken]);
  await readTopic(stack.kafkaBrokers, topics.dlq, 9, 60_000);
  await produce(tail);
  const dead = await readTopic(stack.kafkaBrokers, topics.dlq, 11, 60_000);
  assert.equal(dead.length, 11, 'eleven dead letters');
  await windowsBecome(expected(ok), 'the valid sales counted, the large ones not');

  // list: one line per dead letter with offset, time, step, tenant, id and reason.
  const listed = await dlq(['list'], STRICT);
  const lines = listed.trim().split('\n');
  assert.equal(lines.length, 12, listed);
  assert.match(
    lines[0] ?? '',
    /^0\/0 {2}\d{4}-\d\d-\d\dT\S+Z {2}validate {2}(acme|globex) {2}big-\d {2}payload does not match the ecommerce schema: .*amount/,
  );
  assert.match(lines[8] ?? '', /^0\/8 .*validate {2}acme {2}broken-0 {2}payload does not match .*amount/);
  assert.match(lines[11] ?? '', /11 dead letter\(s\) shown of 11 .*replay position 0:none/);
  assert.equal(
    (await dlq(['list', '--tenant', 'globex'], STRICT)).trim().split('\n').length,
    4,
    'globex: 3 + summary',
  );
  assert.match(await dlq(['list', '--limit', '2'], STRICT), /2 dead letter\(s\) shown of 11 in \S+ \(more: /);
  assert.match(await dlq(['list', '--since', '1s'], STRICT), /^0 dead letter\(s\) shown of 0/);
  // show: one in full, with what a replay would do with it now.
  const shown = await dlq(['show', '--offset', '8'], STRICT);
  assert.match(shown, /step {6}validate/);
  assert.match(shown, /reason {4}payload does not match the ecommerce schema: .*amount/);
  assert.match(shown, new RegExp(`from {6}${topics.events}/\\d/\\d+`));
  assert.match(shown, /tenant {4}acme/);
  assert.match(shown, /replay {4}still fails \(validate\)/);
  assert.match(shown, /"amount": -5/);

  // Not fixed yet: a replay judged by the strict schema re-injects nothing and moves nothing.
  assert.match(await dlq(['replay', '--dry-run'], STRICT), /would re-inject 0 .*\n {2}still failing 11/);

  // The schema fix: the processor runs the built-in stream (amounts up to 1e12).
  await processor.stop();
  processor = await pipeline.start('processor');

  // Dry run: counts what would pass, writes nothing (no record, no position).
  const dlqEnd = await endOffsets(topics.dlq);
  const eventsEnd = await endOffsets(topics.events);
  const dry = await dlq(['replay', '--dry-run']);
  assert.match(dry, /^dry run \(nothing written\): examined 11 dead letter/);
  assert.match(dry, /would re-inject 10 into \S+ecommerce as a backfill/);
  assert.match(dry, /still failing 1 .*\n {4}0\/8 {2}broken-0 {2}validate: payload does not match/);
  assert.match(dry, /replay position 0:0->8 \(dry run: not moved\)/);
  assert.equal(await endOffsets(topics.events), eventsEnd, 'the dry run wrote no event');
  assert.equal(await endOffsets(topics.dlq), dlqEnd, 'nor a dead letter');
  assert.match(await dlq(['list']), /replay position 0:none/);

  // Replay: every fixed sale counted exactly once, each in its own tenant's windows.
  const first = await dlq(['replay']);
  assert.match(first, /re-injected 10 into \S+ecommerce as a backfill\n/);
  assert.match(first, /still failing 1 .*\n {4}0\/8 {2}broken-0/);
  assert.match(first, /replay position 0:0->8\n/);
  const fixed = expected([...ok, ...big, ...tail]);
  await windowsBecome(fixed, 'the replayed sales counted once');
  await drained();
  assert.equal(await endOffsets(topics.dlq), dlqEnd, 'the one still failing stays; none added');
  const dedupBefore = (await scrape(processor.url)).sum('sluice_processor_events_total', {
    outcome: 'duplicate',
  });

  // A second replay adds nothing: the position keeps what is done; the tail past the broken one
  // goes again and the event-id dedup takes the copies as duplicates. Two runs of --limit 2: the
  // first stops at its limit and leaves a cursor, the second reads on from it to the end.
  const second = await dlq(['replay', '--limit', '2']);
  assert.match(second, /examined 2 dead letter.*\(the --limit of 2: run again for more\)/);
  assert.match(
    second,
    /re-injected 1 .*\(1 may be copies of an earlier replay's: the event-id dedup counts them once\)/,
  );
  assert.match(second, /still failing 1 .*\n {4}0\/8 {2}broken-0/);
  assert.match(second, /replay position 0:8->8 \(the next run reads on from 10\)\n/);
  const third = await dlq(['replay', '--limit', '2']);
  assert.match(third, /examined 1 dead letter/);
  assert.match(third, /re-injected 1 .*may be copies/);
  assert.match(third, /replay position 0:8->8\n/);
  await drained();
  await waitFor(
    async () => {
      const s = await scrape(processor.url);
      return s.sum('sluice_processor_events_total', { outcome: 'duplicate' }) >= dedupBefore + 2
        ? true
        : undefined;
    },
    { timeoutMs: 30_000, what: 'the two copies taken as duplicates' },
  );
  assert.deepEqual(sorted(await windows()), sorted(fixed), 'the second replay changed no window');
  // Tenants: globex's replayed sales are in globex's windows only.
  const globex = [...fixed].filter(([id]) => id.startsWith('globex|'));
  assert.equal(
    globex.reduce((n, [, w]) => n + w.count, 0),
    [...ok, ...big, ...tail].filter((s) => s.tenant === 'globex').length,
  );
});
