// The processor against real Kafka, PostgreSQL and Redis, on its own topics, group and database:
// a poison record and a schema-drifted record go to the DLQ with reason headers while the consumer
// keeps going, a processor killed with SIGKILL mid-stream resumes from the offsets committed with
// its rows, counting nothing twice, events resent with the same ids count once, and workers
// joining, leaving, dying and pausing (rebalances, zombies) change no count. The drills that stop
// the shared Redis, PostgreSQL or Kafka are in store-restarts.drill.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { ServiceHandle } from '../../shared/test/services.ts';
import { startService } from '../../shared/test/services.ts';
import { tcpGate } from '../../shared/test/tcp-gate.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { assertReplayIdentical } from './replay-check.ts';
import {
  assertExact,
  duplicatesCounted,
  env,
  iso,
  processor,
  produceRaw,
  send,
  setProcessor,
  sql,
  transactions,
  useWorkerPipeline,
  windowsBetween,
} from './worker-pipeline.ts';

const stack = stackEnv();

useWorkerPipeline();

test('a poison record and a schema-drifted record go to the DLQ; the consumer keeps going', {
  timeout: 120_000,
}, async () => {
  const topics = topicNames('ecommerce', iso.topicPrefix);
  const drifted = JSON.stringify({
    id: 'drift-1',
    stream: 'ecommerce',
    tenant: 'default',
    time: Date.parse('2026-04-01T10:00:10Z'),
    received_at: Date.now(),
    key: 'Books',
    data: { transaction_id: 'drift-1', amount: 'twelve' },
  });
  await produceRaw(topics.events, [
    { key: 'Books', value: 'this is not json', headers: { origin: 'test' } },
    { key: 'Books', value: drifted },
  ]);

  const base = Date.parse('2026-04-01T10:00:00Z');
  const sent = transactions(1, 'dlq', base, 120, 3 * 60_000);
  await send(sent);
  await assertExact(sent, base, base + 4 * 60_000);

  const dead = await readTopic(stack.kafkaBrokers, topics.dlq, 2);
  assert.equal(dead.length, 2);
  const poison = dead.find((r) => r.value === 'this is not json');
  assert.ok(poison, 'the original bytes are kept');
  assert.equal(poison.key, 'Books');
  assert.equal(poison.headers.origin, 'test', 'original headers are kept');
  assert.equal(poison.headers['sluice-dlq-step'], 'decode');
  assert.match(poison.headers['sluice-dlq-reason'] ?? '', /not JSON/);
  assert.ok(Date.parse(poison.headers['sluice-dlq-timestamp'] ?? '') > 0);
  assert.equal(poison.headers['sluice-source-topic'], topics.events);
  const drift = dead.find((r) => r.value === drifted);
  assert.equal(drift?.headers['sluice-dlq-step'], 'validate');
  assert.match(drift?.headers['sluice-dlq-reason'] ?? '', /amount/);

  const metrics = await (await fetch(`${processor.url}/metrics`)).text();
  assert.match(metrics, /sluice_processor_events_total\{[^}]*outcome="dlq"[^}]*\} 2/);
  assert.equal((await fetch(`${processor.url}/healthz`)).status, 200);
});

// The year-9999 event and the NUL key, produced past intake: one moved its partition's watermark to
// 9999 (every later event of the partition was late), the other failed its batch in PostgreSQL on
// every retry (the partition stopped). Both must be dead letters while the partition keeps going.
test('year-9999 event and NUL key produced past intake: dead letters, the partition keeps windowing', {
  timeout: 120_000,
}, async () => {
  const topics = topicNames('ecommerce', iso.topicPrefix);
  const base = Date.parse('2026-04-01T10:00:00Z');
  const hostile = (id: string, time: number, category: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id,
      stream: 'ecommerce',
      tenant: 'default',
      time,
      received_at: time,
      key: category,
      data: { ...makeTransaction(seededRandom(3), id, base), product_category: category },
      ...extra,
    });
  const records = [
    hostile('future-1', Date.parse('9999-12-31T23:59:59Z'), 'Books'),
    hostile('nul-1', base + 1_000, 'Sp\u0000orts'),
    hostile('surrogate-1', base + 2_000, 'Books', { id: 'x\ud800' }),
  ];
  // All on the partition of 'Books', where ordinary events follow them.
  await produceRaw(
    topics.events,
    records.map((value) => ({ key: 'Books', value })),
  );

  const sent = transactions(4, 'hostile', base, 120, 3 * 60_000);
  await send(sent);
  await assertExact(sent, base, base + 4 * 60_000);

  const dead = await readTopic(stack.kafkaBrokers, topics.dlq, 3);
  assert.deepEqual(
    dead.map((r) => r.headers['sluice-dlq-step']),
    ['validate', 'validate', 'validate'],
  );
  assert.match(
    dead[0]?.headers['sluice-dlq-reason'] ?? '',
    /9999-12-31T23:59:59.000Z is more than 1 h after/,
  );
  assert.match(dead[1]?.headers['sluice-dlq-reason'] ?? '', /NUL/);
  assert.match(dead[2]?.headers['sluice-dlq-reason'] ?? '', /surrogate/);
  assert.deepEqual(
    dead.map((r) => r.value),
    records,
    'the original bytes are kept',
  );
  // INVARIANT: no watermark moved past the receive time plus the stream's skew.
  const [highest] = await sql<{ watermark: number | null }[]>`
    select max(watermark)::float8 as watermark from source_offsets`;
  const watermark = highest?.watermark ?? null;
  assert.ok(watermark !== null, 'the partitions have watermarks');
  assert.ok(watermark <= Date.now() + 3_600_000, `watermark ${new Date(watermark).toISOString()}`);
});

test('a processor killed with SIGKILL mid-stream resumes without counting anything twice', {
  timeout: 180_000,
}, async () => {
  const base = Date.parse('2026-04-02T08:00:00Z');
  const sent = transactions(2, 'kill', base, 600, 5 * 60_000);
  for (let i = 0; i < 300; i += 50) await send(sent.slice(i, i + 50));
  // Let it get part of the way, then crash it without any chance to drain.
  await waitFor(
    async () => {
      const rows = await windowsBetween(base, base + 6 * 60_000);
      return rows.reduce((n, r) => n + (r.values.count ?? 0), 0) > 0 ? true : undefined;
    },
    { what: 'some events processed' },
  );
  assert.equal(await processor.stop('SIGKILL'), null);
  for (let i = 300; i < 600; i += 50) await send(sent.slice(i, i + 50));
  setProcessor(await startService('processor', env));
  await assertExact(sent, base, base + 6 * 60_000);

  // And a graceful restart (SIGTERM drains and commits) changes nothing either.
  assert.equal(await processor.stop('SIGTERM'), 0);
  setProcessor(await startService('processor', env));
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await assertExact(sent, base, base + 6 * 60_000);
});

test('ten kill -9s at random moments during a known workload, with restarts: exact counts', {
  timeout: 300_000,
}, async () => {
  const base = Date.parse('2026-04-09T13:00:00Z');
  const sent = transactions(10, 'kills', base, 1_000, 6 * 60_000);
  const random = seededRandom(99);
  let next = 0;
  for (let kill = 0; kill < 10; kill++) {
    // Some more of the workload (copies included: a client retrying across the crash), then a
    // crash after a random moment, while batches are in flight or between them.
    const upTo = Math.min(sent.length, next + 100);
    for (; next < upTo; next += 25) {
      await send(sent.slice(next, next + 25));
      if (random() < 0.3) await send(sent.slice(next, next + 25));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 1_500)));
    assert.equal(await processor.stop('SIGKILL'), null, `kill ${kill + 1}`);
    setProcessor(await startService('processor', env));
  }
  await assertExact(sent, base, base + 7 * 60_000);
});

test('every event sent twice, some three times (same ids), counts once', { timeout: 120_000 }, async () => {
  const base = Date.parse('2026-04-05T09:00:00Z');
  const sent = transactions(6, 'dup', base, 300, 3 * 60_000);
  // Each slice goes out, then again (a client retry after a lost answer); every fifth event a
  // third time, shuffled in with later ones.
  for (let i = 0; i < sent.length; i += 50) {
    const slice = sent.slice(i, i + 50);
    await send(slice);
    await send(slice.toReversed());
    await send(slice.filter((_, j) => j % 5 === 0));
  }
  await assertExact(sent, base, base + 4 * 60_000);
  assert.equal(await duplicatesCounted(), 300 + 60, 'every copy counted as a duplicate');
  // Drained: the consumer lag of every partition that took records is back to 0.
  const lags = await waitFor(
    async () => {
      const metrics = await (await fetch(`${processor.url}/metrics`)).text();
      const values = [...metrics.matchAll(/^sluice_consumer_lag\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      return values.length > 0 && values.every((v) => v === 0) ? values : undefined;
    },
    { timeoutMs: 10_000, what: 'consumer lag back to 0 on every partition' },
  );
  assert.ok(lags.length <= 6);
});

test('two workers in one group share the partitions; one leaving mid-stream changes no count', {
  timeout: 180_000,
}, async () => {
  const second = await startService('processor', env);
  const assigned = async (worker: ServiceHandle) => {
    const text = await (await fetch(`${worker.url}/metrics`)).text();
    return Number(/sluice_processor_assigned_partitions\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  try {
    await waitFor(
      async () => ((await assigned(second)) > 0 && (await assigned(processor)) > 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        what: 'the partitions split between the two workers',
      },
    );
    assert.equal((await assigned(second)) + (await assigned(processor)), 6);
    const base = Date.parse('2026-04-03T09:00:00Z');
    const sent = transactions(3, 'pair', base, 600, 5 * 60_000);
    for (let i = 0; i < 300; i += 50) await send(sent.slice(i, i + 50));
    await waitFor(
      async () => {
        const text = await (await fetch(`${second.url}/metrics`)).text();
        const processed = /sluice_processor_events_total\{[^}]*outcome="processed"[^}]*\} (\d+)/.exec(text);
        return Number(processed?.[1] ?? 0) > 0 ? true : undefined;
      },
      { what: 'the second worker processing its partitions' },
    );
    // The second worker leaves (drains and commits); its partitions move to the first.
    assert.equal(await second.stop('SIGTERM'), 0);
    for (let i = 300; i < 600; i += 50) await send(sent.slice(i, i + 50));
    await assertExact(sent, base, base + 6 * 60_000);
    const metrics = await (await fetch(`${processor.url}/metrics`)).text();
    assert.match(metrics, /sluice_processor_events_total\{[^}]*outcome="processed"/);
  } finally {
    await second.stop('SIGKILL');
  }
});

/** Records every write of a window row with the epoch of the owner that made it, in order. */
async function auditWindowWrites(): Promise<void> {
  await sql`create table window_writes (id bigserial primary key, "window" text, window_start timestamptz,
    key text, source_epoch bigint)`;
  await sql`create function audit_window_write() returns trigger language plpgsql as $$
    begin
      insert into window_writes ("window", window_start, key, source_epoch)
        values (new."window", new.window_start, new.key, new.source_epoch);
      return new;
    end $$`;
  await sql`create trigger window_writes after insert or update on windows
    for each row execute function audit_window_write()`;
}

/**
 * Guarantee 2, fencing: a window's writers only go forward. Commits of one partition serialise on
 * its `source_offsets` row, so the audit's order is their commit order; an epoch lower than one
 * before it would be a write by an owner that had lost the partition, landing after its successor.
 */
async function assertOwnersOnlyGoForward(): Promise<void> {
  const writes = await sql<{ seq: string; window: string; start: Date; key: string; epoch: string | null }[]>`
    select id::text as seq, "window", window_start as start, key, source_epoch::text as epoch
    from window_writes order by window_writes.id`;
  const last = new Map<string, number>();
  const owners = new Map<string, Set<number>>();
  const history = new Map<string, string[]>();
  for (const w of writes) {
    const id = `${w.window}|${w.start.toISOString()}|${w.key}`;
    const epoch = Number(w.epoch);
    assert.ok(epoch > 0, `write ${w.seq} of ${id} names its owner's epoch`);
    const trail = [...(history.get(id) ?? []), `${w.seq}:${epoch}`];
    history.set(id, trail);
    assert.ok(epoch >= (last.get(id) ?? 0), `${id} written by epoch ${epoch} after a later one: ${trail}`);
    last.set(id, epoch);
    owners.set(id, (owners.get(id) ?? new Set()).add(epoch));
  }
  assert.ok(writes.length > 0, 'windows were written');
  assert.ok(
    [...owners.values()].some((epochs) => epochs.size > 1),
    'some window changed hands mid-stream (what this check is about)',
  );
}

test('three workers: one joins and one is killed mid-stream (rebalances); exact, no window written by two owners', {
  timeout: 240_000,
}, async () => {
  await auditWindowWrites();
  const second = await startService('processor', env);
  let third: ServiceHandle | undefined;
  const workersOf = async (workers: readonly ServiceHandle[]) => {
    let total = 0;
    for (const worker of workers) {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      total += Number(/sluice_processor_assigned_partitions\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    }
    return total;
  };
  try {
    const base = Date.parse('2026-04-10T14:00:00Z');
    const sent = transactions(12, 'trio', base, 900, 6 * 60_000);
    for (let i = 0; i < 300; i += 50) await send(sent.slice(i, i + 50));
    // A third worker joins while records flow: partitions move to it mid-stream.
    third = await startService('processor', env);
    const joined = third;
    for (let i = 300; i < 600; i += 50) await send(sent.slice(i, i + 50));
    await waitFor(async () => ((await workersOf([joined])) > 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the third worker owning partitions',
    });
    // The second is killed without draining: its partitions move after the session timeout, and
    // whatever it had in flight either committed or is replayed by the new owner, never both.
    assert.equal(await second.stop('SIGKILL'), null);
    for (let i = 600; i < 900; i += 50) await send(sent.slice(i, i + 50));
    await assertExact(sent, base, base + 7 * 60_000, [processor, second, joined]);
    assert.equal(await workersOf([processor, joined]), 6, 'the survivors own every partition');
    await assertOwnersOnlyGoForward();
  } finally {
    await second.stop('SIGKILL');
    await third?.stop('SIGKILL');
  }
});

/** The sum of a metric's samples on a worker whose labels include `labels`. */
async function metricOf(
  worker: ServiceHandle,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return (await scrape(worker.url)).sum(name, labels);
}

test('a worker paused past its session timeout wakes as a zombie: its writes are refused, counts exact', {
  timeout: 240_000,
}, async () => {
  await auditWindowWrites();
  // The second worker reaches Redis through a gate, so that one of its batches can be held in
  // flight, at its Redis call, across the pause below: awake, the zombie then writes under its old
  // epoch whatever the order in which it learns of its revocation.
  const redis = new URL(env.SLUICE_REDIS_URL ?? stack.redisUrl);
  const gate = await tcpGate({ host: redis.hostname, port: Number(redis.port || 6379) });
  const gated = new URL(redis);
  gated.port = String(gate.port);
  const second = await startService('processor', { ...env, SLUICE_REDIS_URL: gated.toString() });
  const { pid } = second;
  assert.ok(pid !== undefined);
  // Records keep flowing through every wait below: a partition silent for the idle timeout would
  // move its watermark to wall clock (guarantee 7) and make the rest of this old workload late.
  const base = Date.parse('2026-04-12T08:00:00Z');
  const pool = transactions(14, 'zombie', base, 4_000, 20 * 60_000);
  let sent = 0;
  const sendNext = async (n: number) => {
    await send(pool.slice(sent, sent + n));
    sent += n;
  };
  const flowUntil = async (done: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!(await done())) {
      assert.ok(Date.now() < deadline && sent < pool.length - 100, `timed out waiting for ${what}`);
      await sendNext(20);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  };
  try {
    await flowUntil(
      async () =>
        (await metricOf(second, 'sluice_processor_assigned_partitions')) > 0 &&
        (await metricOf(second, 'sluice_processor_events_total', { outcome: 'processed' })) > 0,
      'the second worker processing its partitions',
    );
    // A batch in flight: its dedup claim or its state commit (both EVALSHA) waits at the gate.
    gate.hold();
    await flowUntil(
      async () => /evalsha/i.test(gate.held()),
      'a batch of the second worker waiting on Redis',
    );
    const moved = await metricOf(second, 'sluice_processor_assigned_partitions');
    const loads = await metricOf(processor, 'sluice_processor_state_loads_total');
    // A stop-the-world pause (a long GC, a frozen VM) past the session timeout: the group moves
    // its partitions to the first worker, which claims them with the next epoch.
    process.kill(pid, 'SIGSTOP');
    try {
      await flowUntil(
        async () =>
          (await metricOf(processor, 'sluice_processor_assigned_partitions')) === 6 &&
          (await metricOf(processor, 'sluice_processor_state_loads_total')) >= loads + moved,
        'the first worker owning and claiming every partition',
      );
    } finally {
      // The held call reaches Redis now, then the zombie wakes to its answer and writes under the
      // epoch it had; with the fences removed that write lands, nothing is refused, and this fails.
      gate.release();
      process.kill(pid, 'SIGCONT');
    }
    await flowUntil(
      async () => (await metricOf(second, 'sluice_processor_fenced_total')) > 0,
      "the zombie's write refused",
    );
    await sendNext(100);
    await assertExact(pool.slice(0, sent), base, base + 21 * 60_000);
    await assertOwnersOnlyGoForward();
  } finally {
    await second.stop('SIGKILL');
    await gate.close();
  }
});

test('the same slice replayed from offset 0 into a fresh group and database gives identical tables', {
  timeout: 240_000,
}, async () => {
  const base = Date.parse('2026-04-11T15:00:00Z');
  const sent = transactions(13, 'replay', base, 500, 4 * 60_000);
  for (let i = 0; i < sent.length; i += 50) await send(sent.slice(i, i + 50));
  await assertExact(sent, base, base + 5 * 60_000);

  await assertReplayIdentical(env, sql);
});

test('an event behind the watermark goes to <stream>.late with a reason and changes no window', {
  timeout: 120_000,
}, async () => {
  const topics = topicNames('ecommerce', iso.topicPrefix);
  const base = Date.parse('2026-04-04T07:00:00Z');
  const sent = transactions(4, 'ontime', base, 60, 2 * 60_000);
  await send(sent);
  // Settled: the idle partitions moved their watermarks past these windows (guarantee 7).
  await assertExact(sent, base, base + 3 * 60_000);

  const [older] = transactions(5, 'late', base + 30_000, 1, 1);
  assert.ok(older);
  const late = { ...older, product_category: sent[0]?.product_category ?? older.product_category };
  await send([late]);
  const [record] = await readTopic(stack.kafkaBrokers, topics.late, 1);
  assert.ok(record, 'the late event is in the late topic');
  assert.equal(
    (JSON.parse(record.value) as { id: string }).id,
    late.transaction_id,
    'with its original bytes',
  );
  assert.equal(record.headers['sluice-late-reason'], 'beyond-allowed-lateness');
  assert.equal(record.headers['sluice-late-windows'], new Date(base).toISOString());
  assert.ok(
    Date.parse(record.headers['sluice-late-watermark'] ?? '') > base + 60_000,
    'the watermark it was behind',
  );
  await assertExact(sent, base, base + 3 * 60_000);
  const metrics = await (await fetch(`${processor.url}/metrics`)).text();
  assert.match(metrics, /sluice_processor_events_total\{[^}]*outcome="late"[^}]*\} 1/);
});
