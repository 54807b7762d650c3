// DLQ replay knows exactly what it re-sent, against real Kafka, PostgreSQL and Redis and the real
// tool: dead letters of two tenants, some dead-lettered more than the dedup horizon ago, written
// into the DLQ as the processor writes them. A --tenant run leaves the other tenant's dead letters
// as never sent (not as copies), even below `seen`; an old dead letter no replay sent is refused
// without --force and re-injected once with it; a stale commit never moves the record back; and
// `./sluice dlq replay` refuses to run while another replay of the stream holds its lock.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { encodeEvent } from '@sluice/shared/events/envelope';
import { topicNames } from '@sluice/shared/streams/registry';
import { MAX_HOLES } from '../../processor/src/replay/dlq-record.ts';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import type { TestPipeline } from '../../shared/test/services.ts';
import { ROOT, testPipeline } from '../../shared/test/services.ts';
import { openDlqTopic } from '../../tools/dlq-topic.ts';

const run = promisify(execFile);
const stack = stackEnv();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
let pipeline: TestPipeline;
let producer: KafkaJS.Producer;

before(async () => {
  pipeline = await testPipeline('dlqx', {
    SLUICE_IDLE_TIMEOUT_MS: '2000',
    SLUICE_TICK_MS: '250',
    SLUICE_STREAMS: 'ecommerce',
  });
  // The built-in stream: every dead letter below passes it (the schema is fixed).
  await pipeline.start('processor');
  producer = new KafkaJS.Kafka({
    kafkaJS: { brokers: stack.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  }).producer();
  await producer.connect();
});

after(async () => {
  await producer.disconnect();
  await pipeline.close();
});

interface Letter {
  readonly id: string;
  readonly tenant: string;
  readonly category: string;
  readonly amount: number;
  /** Event time. */
  readonly time: number;
  /** When it was dead-lettered. */
  readonly at: number;
}

/** Writes dead letters into partition 0 of the DLQ, in order, as the processor writes them. */
async function deadLetter(letters: readonly Letter[]): Promise<void> {
  const topics = topicNames('ecommerce', pipeline.iso.topicPrefix);
  for (const l of letters)
    await producer.send({
      topic: topics.dlq,
      messages: [
        {
          partition: 0,
          key: l.category,
          value: encodeEvent({
            id: l.id,
            stream: 'ecommerce',
            tenant: l.tenant,
            time: l.time,
            receivedAt: l.at,
            key: l.category,
            data: {
              transaction_id: l.id,
              user_id: 'user-1',
              product_category: l.category,
              product_name: 'dlq-exact',
              amount: l.amount,
              timestamp: new Date(l.time).toISOString(),
              payment_method: 'paypal',
            },
          }),
          headers: {
            'sluice-dlq-reason': 'payload does not match the ecommerce schema (before its fix)',
            'sluice-dlq-step': 'validate',
            'sluice-dlq-timestamp': new Date(l.at).toISOString(),
            'sluice-source-topic': topics.events,
            'sluice-source-partition': '0',
            'sluice-source-offset': '0',
          },
        },
      ],
    });
}

/** `./sluice dlq ...` run the way the e2e DLQ test runs it: the tool with the pipeline's environment. */
async function dlq(args: readonly string[]): Promise<string> {
  const { stdout } = await run('node', [`${ROOT}tools/dlq.ts`, ...args, '--stream', 'ecommerce'], {
    cwd: ROOT,
    env: { ...process.env, ...pipeline.iso.env, SLUICE_STREAMS_MODULE: undefined },
    timeout: 120_000,
  });
  return stdout;
}

/** Per tenant and key: the count of the 1m windows. */
async function counts(): Promise<Record<string, number>> {
  const rows = await pipeline.sql<{ tenant: string; key: string; n: number }[]>`
    select tenant, key, sum((values->>'count')::int)::int as n from windows
    where stream = 'ecommerce' and "window" = '1m' group by tenant, key`;
  return Object.fromEntries(rows.map((r) => [`${r.tenant}|${r.key}`, r.n]));
}

async function countsBecome(want: Record<string, number>, what: string): Promise<void> {
  const sorted = (o: Record<string, number>) => JSON.stringify(Object.entries(o).sort());
  await waitFor(async () => (sorted(await counts()) === sorted(want) ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 500,
    what,
  }).catch(async (error: unknown) => assert.deepEqual(await counts(), want, String(error)));
}

test('exactly which dead letters were re-sent: a --tenant run leaves holes, old ones need --force', {
  timeout: 200_000,
}, async () => {
  const now = Date.now();
  const time = now - 5 * MINUTE;
  const fresh = now - MINUTE;
  // Dead-lettered 25 h ago (the horizon is 24 h): the client may have re-sent it since.
  const old = now - 25 * HOUR;
  const letter = (id: string, tenant: string, category: string, at: number): Letter => ({
    id,
    tenant,
    category,
    amount: 150,
    time,
    at,
  });
  await deadLetter([
    letter('a-0', 'acme', 'Books', fresh),
    letter('g-1', 'globex', 'Books', fresh),
    letter('g-2-old', 'globex', 'Sports', old),
    letter('a-3', 'acme', 'Sports', fresh),
    letter('a-4-old', 'acme', 'Beauty', old),
  ]);

  // acme's: 0 and 3 re-injected; 4 refused (old, never sent); globex's left alone, the position
  // stops at the first of them.
  const acme = await dlq(['replay', '--tenant', 'acme']);
  assert.match(acme, /re-injected 2 into \S+ as a backfill\n/);
  assert.match(
    acme,
    /refused 1: dead-lettered more than the dedup horizon \(24 h\) less 10 min ago.*--force/,
  );
  assert.match(acme, /other tenants' 2 left alone/);
  assert.match(acme, /replay position 0:0->1\n/);
  await countsBecome({ 'acme|Books': 1, 'acme|Sports': 1 }, "acme's fresh dead letters counted");

  // globex's 1 lies below `seen` but was never sent: a first copy, not "may be copies". Its 2 is
  // old and was never sent either: refused as a first replay, not as a repeat.
  const globex = await dlq(['replay', '--tenant', 'globex']);
  assert.match(globex, /re-injected 1 into \S+ as a backfill\n/);
  assert.doesNotMatch(globex, /may be copies/);
  assert.match(globex, /refused 1: dead-lettered more than/);
  assert.doesNotMatch(globex, /not re-sent/);
  assert.match(globex, /replay position 0:1->2\n/);

  // show and the dry run say what a replay does with the old ones, and how to take them.
  const shown = await dlq(['show', '--offset', '2']);
  assert.match(
    shown,
    /replay {4}passes, but dead-lettered more than the dedup horizon \(24 h\) less 10 min ago: .*unless --force/,
  );
  const dry = await dlq(['replay', '--dry-run']);
  assert.match(dry, /would re-inject 1 .*\(1 may be copies/);
  assert.match(dry, /refused 2: .*--force re-injects them/);

  // --force: both old ones re-injected as the first copies they are; acme's 3 (sent, fresh) again,
  // which the event-id dedup takes as a copy. Each sale counted once.
  const forced = await dlq(['replay', '--force']);
  assert.match(forced, /re-injected 3 into \S+ as a backfill \(1 may be copies/);
  assert.doesNotMatch(forced, /\n {2}(refused|not re-sent) /);
  assert.match(forced, /replay position 0:2->5\n/);
  const all = { 'acme|Books': 1, 'acme|Sports': 1, 'acme|Beauty': 1, 'globex|Books': 1, 'globex|Sports': 1 };
  await countsBecome(all, 'every dead letter counted once');
  assert.match(await dlq(['replay']), /examined 0 dead letter.*\n[\s\S]*replay position 0:5->5\n/);
  await new Promise((r) => setTimeout(r, 3_000));
  assert.deepEqual(await counts(), all, 'the copy of 3 counted nothing');
});

test('a commit never moves the stored record back, and the largest record fits the broker', async () => {
  const topics = topicNames('ecommerce', pipeline.iso.topicPrefix);
  const open = () =>
    openDlqTopic({
      brokers: stack.kafkaBrokers,
      topic: topics.dlq,
      groupId: `${pipeline.iso.topicPrefix}dlq-commit-test`,
    });
  const [ahead, stale] = await Promise.all([open(), open()]);
  try {
    const first = await ahead.commit(0, { position: 3n, seen: 9n, holes: [[5n, 7n]], cursor: 0n });
    assert.equal(first.ok, true);
    // A run that started before `ahead` committed: lower position and `seen`, 6 sent by it.
    const second = await stale.commit(0, { position: 1n, seen: 7n, holes: [[2n, 6n]], cursor: 0n });
    assert.deepEqual(second, { ok: true, value: { position: 3n, seen: 9n, holes: [[5n, 6n]], cursor: 0n } });
    assert.deepEqual(await ahead.position(0), { position: 3n, seen: 9n, holes: [[5n, 6n]], cursor: 0n });
    // MAX_HOLES holes over the whole offset range: accepted by offset.metadata.max.bytes.
    const step = 2n ** 62n / BigInt(2 * MAX_HOLES + 1);
    const holes = Array.from(
      { length: MAX_HOLES },
      (_, k) => [BigInt(2 * k + 1) * step, BigInt(2 * k + 2) * step] as const,
    );
    const big = await ahead.commit(0, { position: 3n, seen: 2n ** 62n, holes, cursor: 0n });
    assert.equal(big.ok, true);
    assert.deepEqual((await stale.position(0)).holes, holes);
  } finally {
    await Promise.all([ahead.close(), stale.close()]);
  }
});

test('`./sluice dlq replay` refuses to run while another replay of the stream holds its lock', {
  timeout: 120_000,
}, async () => {
  const data = process.env.SLUICE_DATA ?? `${ROOT}.sluice`;
  const lock = `${data}/run/dlq-${pipeline.iso.topicPrefix}ecommerce.lock`;
  const env = { ...process.env, ...pipeline.iso.env };
  const sluice = (args: readonly string[]) =>
    run(`${ROOT}sluice`, ['dlq', ...args, '--stream', 'ecommerce'], { cwd: ROOT, env, timeout: 120_000 });
  // Another replay: a process holding the lock (bash takes it on fd 9, waiting out the probe's own
  // brief hold, then becomes the sleep that keeps it, so ending that one pid releases it).
  const holder: ChildProcess = spawn(
    'bash',
    ['-c', 'exec 9>>"$1" && flock -w 10 9 && exec sleep 120', 'holder', lock],
    {
      stdio: 'ignore',
    },
  );
  try {
    await waitFor(
      async () =>
        (await run('flock', ['-n', lock, 'true']).then(
          () => false,
          () => true,
        ))
          ? true
          : undefined,
      { timeoutMs: 10_000, intervalMs: 100, what: `the lock held ${lock}` },
    );
    const refused = await sluice(['replay']).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.ok(refused !== undefined, 'a second replay ran while the lock was held');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr ?? '', /another replay of stream ecommerce holds .*dlq-\S+ecommerce\.lock/);
    // A dry run writes nothing: it is not held up.
    assert.match((await sluice(['replay', '--dry-run'])).stdout, /^dry run \(nothing written\)/m);
  } finally {
    holder.kill('SIGTERM');
  }
  await waitFor(
    async () =>
      (await run('flock', ['-n', lock, 'true']).then(
        () => true,
        () => false,
      ))
        ? true
        : undefined,
    { timeoutMs: 10_000, intervalMs: 100, what: 'the lock released' },
  );
  assert.match((await sluice(['replay'])).stdout, /examined 0 dead letter/);
});
