// Cluster drills (`./sluice stack up --cluster`: three KRaft brokers with replication factor 3 and
// min.insync.replicas=2, a Redis Cluster of three masters with a replica each). A fleet of Bun
// workers runs a known workload while a node of the cluster dies; every drill ends with exact
// windows (guarantee 2), nothing acknowledged lost (guarantee 1: every batch ingest answered 202
// for is counted, and a batch answered 503 is sent again, as a client does), and the replay check
// (a fresh group replaying the same topics writes identical tables). Each prints its recovery time:
// from the kill until the fleet keeps up again (every partition owned, at most two batches behind)
// for the rest of the workload.
//
// They kill nodes every test of the tier shares, so the runner gives them the cluster alone.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { afterEach, test } from 'node:test';
import { promisify } from 'node:util';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import postgres from 'postgres';
import { createRedis } from '../../shared/src/redis/client.ts';
import { parseRedisTarget } from '../../shared/src/redis/target.ts';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, ROOT, startService } from '../../shared/test/services.ts';
import { tcpGate } from '../../shared/test/tcp-gate.ts';
import type { Transaction } from '../../tools/ecommerce-data.ts';
import { envelope } from '../../tools/ecommerce-data.ts';
import { assertExact } from './exact.ts';
import { assertReplayIdentical } from './replay-check.ts';
import { transactions } from './worker-pipeline.ts';

const stack = stackEnv();
const run = promisify(execFile);
const RUN_DIR = `${process.env.SLUICE_DATA ?? `${ROOT}.sluice`}/run`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const sluice = (...args: string[]) =>
  run(`${ROOT}sluice`, args, { timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } });

async function pidOf(name: string): Promise<number> {
  const [pid] = (await readFile(`${RUN_DIR}/${name}.pid`, 'utf8')).trim().split(/\s+/);
  const n = Number(pid);
  assert.ok(Number.isInteger(n) && n > 0, `a pid for ${name}`);
  return n;
}

/** kill -9 of a stack process (`kafka-2`, `redis-node-1`) and of its process group. */
async function kill9(name: string): Promise<void> {
  const pid = await pidOf(name);
  process.kill(-pid, 'SIGKILL');
  await waitFor(
    async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    },
    { what: `${name} gone` },
  );
}

interface Fleet {
  readonly iso: Isolation;
  readonly env: Record<string, string>;
  readonly ingest: ServiceHandle;
  readonly workers: ServiceHandle[];
  readonly sql: postgres.Sql;
  /** What a drill set up beside the fleet (a gate), undone after the test. */
  readonly cleanups: (() => Promise<void>)[];
}

let current: Fleet | undefined;
const watching = new Set<{ stop(): Promise<void> }>();

async function startFleet(
  label: string,
  workers: number,
  extra: Record<string, string> = {},
): Promise<Fleet> {
  const iso = await isolate(label);
  const env = {
    ...iso.env,
    // The service's default idle timeout, not a short one: a broker kill stalls ingest's sends for
    // ~12 s, and past an 8 s timeout guarantee 7 moved the watermark to wall clock meanwhile, so
    // the (May) events sent after it were late by design and the drill failed on chance (CI, with
    // ingest on Bun: 3,171 of 4,000 in windows, every record consumed). As store-restarts.drill.
    SLUICE_IDLE_TIMEOUT_MS: '30000',
    SLUICE_TICK_MS: '250',
    SLUICE_MAX_BATCH: '100',
    SLUICE_SESSION_TIMEOUT_MS: '6000',
    SLUICE_STREAMS: 'ecommerce',
    SLUICE_LOG_LEVEL: process.env.SLUICE_DRILL_LOG_LEVEL ?? 'warn',
    ...extra,
  };
  const ingest = await startService('ingest', env);
  const started = await Promise.all(
    Array.from({ length: workers }, () => startService('processor', env, 'bun')),
  );
  const sql = postgres(iso.databaseUrl, { max: 2, onnotice: () => {} });
  current = { iso, env, ingest, workers: started, sql, cleanups: [] };
  return current;
}

afterEach(async () => {
  for (const watch of watching) await watch.stop();
  watching.clear();
  const fleet = current;
  current = undefined;
  if (fleet === undefined) return;
  await Promise.all([fleet.ingest.stop(), ...fleet.workers.map((w) => w.stop())]);
  for (const cleanup of fleet.cleanups) await cleanup();
  await fleet.sql.end();
  await fleet.iso.cleanup();
});

/** Sends a batch until ingest answers 202 (a 503 while a broker fails over is sent again). */
async function sendAcked(ingestUrl: string, batch: readonly Transaction[]): Promise<number> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const response = await fetch(`${ingestUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch.map(envelope)),
        signal: AbortSignal.timeout(40_000),
      });
      const text = await response.text();
      if (response.status === 202) {
        assert.equal((JSON.parse(text) as { accepted: number }).accepted, batch.length, text);
        return attempts;
      }
      assert.ok(
        response.status === 503 || response.status === 429,
        `ingest answered ${response.status}: ${text}`,
      );
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
    }
    assert.ok(attempts < 60, 'ingest accepted the batch within 60 attempts');
    await sleep(500);
  }
}

/** Sends `sent` in batches of 50, one every `gapMs`; resolves with the number of retried batches. */
async function sendAll(fleet: Fleet, sent: readonly Transaction[], gapMs: number): Promise<number> {
  let retried = 0;
  for (let i = 0; i < sent.length; i += 50) {
    if ((await sendAcked(fleet.ingest.url, sent.slice(i, i + 50))) > 1) retried += 1;
    await sleep(gapMs);
  }
  return retried;
}

interface WorkerView {
  readonly url: string;
  readonly partitions: readonly { topic: string; partition: number; lag: number | null }[] | 'no answer';
}

/** Each worker's /status now (a worker that does not answer within a second: paused or dead). */
async function fleetView(workers: readonly ServiceHandle[]): Promise<WorkerView[]> {
  return Promise.all(
    workers.map(async (w) => {
      try {
        const response = await fetch(`${w.url}/status`, { signal: AbortSignal.timeout(1_000) });
        const status = (await response.json()) as {
          partitions: { topic: string; partition: number; lag: number | null }[];
        };
        return { url: w.url, partitions: status.partitions };
      } catch {
        return { url: w.url, partitions: 'no answer' as const };
      }
    }),
  );
}

/** The fleet's total lag, owned partitions and partitions whose lag is not known yet. */
function fleetLag(view: readonly WorkerView[]): { lag: number; owned: number; unknown: number } {
  let lag = 0;
  let owned = 0;
  let unknown = 0;
  for (const { partitions } of view) {
    if (partitions === 'no answer') continue;
    owned += partitions.length;
    for (const p of partitions) {
      if (p.lag === null) unknown += 1;
      else lag += p.lag;
    }
  }
  return { lag, owned, unknown };
}

/** Waits until every live worker reports lag 0 on every partition it owns, all 6 owned. */
async function lagZero(workers: readonly ServiceHandle[]): Promise<void> {
  let last: WorkerView[] = [];
  await waitFor(
    async () => {
      last = await fleetView(workers);
      const { lag, owned, unknown } = fleetLag(last);
      return lag === 0 && unknown === 0 && owned === 6 ? true : undefined;
    },
    {
      timeoutMs: Number(process.env.SLUICE_DRILL_CATCHUP_MS ?? 120_000),
      intervalMs: 250,
      what: 'every partition owned with lag 0',
    },
  ).catch((error: unknown) => {
    throw new Error(
      `${String(error)}; the fleet: ${JSON.stringify(last)}\n${workers.map((w) => `--- ${w.url}\n${w.output().slice(-3_000)}`).join('\n')}`,
    );
  });
}

/**
 * Samples the fleet's lag every 250 ms while a drill runs. A drill's recovery time is from its kill
 * to the start of the last stretch in which the fleet kept up: every partition owned and at most
 * two batches (100 events) behind, until the workload was done and the lag 0.
 */
function watchLag(workers: () => readonly ServiceHandle[]) {
  const samples: { at: number; keepingUp: boolean }[] = [];
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const { lag, owned, unknown } = fleetLag(await fleetView(workers()));
      samples.push({ at: Date.now(), keepingUp: owned === 6 && unknown === 0 && lag <= 100 });
      await sleep(250);
    }
  })();
  const watch = {
    async stop() {
      stopped = true;
      await polling;
    },
    /** Seconds from `killedAt` to the start of the last kept-up stretch before `until`. */
    recoverySeconds(killedAt: number, until = Number.POSITIVE_INFINITY): number {
      const behind = samples.filter((s) => s.at >= killedAt && s.at < until && !s.keepingUp).at(-1);
      if (behind === undefined) return 0;
      const next = samples.find((s) => s.at > behind.at);
      return ((next?.at ?? behind.at) - killedAt) / 1000;
    },
  };
  // Stopped after the test whatever its outcome: a poller left running would hold the file open.
  watching.add(watch);
  return watch;
}

/** Says how long the fleet took to keep up again after a kill. */
function recovery(t: TestContext, what: string, seconds: number): void {
  t.diagnostic(`${what}: recovery (kill to keeping up, lag <= 100 to the end) ${seconds.toFixed(1)} s`);
}

async function leaderOf(topic: string, partition: number): Promise<number> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: stack.kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    const [meta] = await admin.fetchTopicMetadata({ topics: [topic] });
    const leader = meta?.partitions.find((p) => p.partitionId === partition)?.leader;
    assert.ok(leader !== undefined && leader > 0, `a leader for ${topic}[${partition}]`);
    return leader;
  } finally {
    await admin.disconnect();
  }
}

/** The KRaft quorum's active controller (node id), as Kafka's own tool reports it. */
async function activeController(): Promise<number> {
  const { stdout } = await run(
    'java',
    [
      '-Dlog4j2.level=warn',
      '-cp',
      `${stack.kafkaHome}/libs/*`,
      'org.apache.kafka.tools.MetadataQuorumCommand',
      '--bootstrap-server',
      stack.kafkaBrokers.join(','),
      'describe',
      '--status',
    ],
    { timeout: 60_000 },
  );
  const id = Number(/LeaderId:\s*(\d+)/.exec(stdout)?.[1]);
  assert.ok(id >= 1 && id <= 3, `an active controller in: ${stdout}`);
  return id;
}

const BASE = Date.parse('2026-05-02T08:00:00Z');

/** A kill whose recovery a drill reports: what died, when, and until when it is the one measured. */
interface Kill {
  readonly what: string;
  readonly at: number;
  readonly until?: number;
}

/**
 * One drill: a fleet of `workers` Bun workers and 4,000 events sent at ~200 events/s while
 * `disrupt` kills what it kills (it returns the kills to report); then every partition caught up,
 * each kill's recovery printed, exact windows and the replay check.
 */
async function drill(
  t: TestContext,
  label: string,
  workers: number,
  seed: number,
  disrupt: (fleet: Fleet) => Promise<readonly Kill[]>,
): Promise<void> {
  const fleet = await startFleet(label, workers);
  const sent = transactions(seed, label, BASE, 4_000, 5 * 60_000);
  const sending = sendAll(fleet, sent, 200);
  const watch = watchLag(() => fleet.workers);
  const kills = await disrupt(fleet);
  const retried = await sending;
  await lagZero(fleet.workers);
  await watch.stop();
  for (const kill of kills) recovery(t, kill.what, watch.recoverySeconds(kill.at, kill.until));
  t.diagnostic(`batches ingest answered 503 or 429 and the client sent again: ${retried}`);
  await assertExact(fleet.sql, sent, BASE, BASE + 6 * 60_000, fleet.workers);
  await assertReplayIdentical(fleet.env, fleet.sql, 'bun');
}

/** The cluster node (`redis-node-K`) that is the master of `key`'s slot now. */
async function redisMasterOf(key: string): Promise<string> {
  const target = parseRedisTarget(stack.redisUrl);
  assert.ok(!(target instanceof Error) && target.kind === 'cluster', 'the drills run on a Redis Cluster');
  const redis = createRedis(stack.redisUrl);
  try {
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
    const shards = (await redis.call('CLUSTER', 'SLOTS')) as [
      number,
      number,
      [string, number, ...unknown[]],
    ][];
    const port = shards.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    // The URL lists the nodes in order: node K is the K-th.
    const k = target.nodes.findIndex((node) => node.port === port) + 1;
    assert.ok(k > 0, `a master for slot ${slot}`);
    return `redis-node-${k}`;
  } finally {
    redis.disconnect();
  }
}

test(
  'a broker leading partitions killed with kill -9 and brought back, then the active controller killed: exact',
  {
    timeout: 600_000,
  },
  (t) =>
    drill(t, 'broker', 2, 31, async (fleet) => {
      await sleep(3_000);
      const leader = await leaderOf(`${fleet.iso.topicPrefix}ecommerce`, 0);
      const brokerAt = Date.now();
      await kill9(`kafka-${leader}`);
      await sleep(8_000);
      await sluice('stack', 'start', `kafka-${leader}`);
      const controller = await activeController();
      const controllerAt = Date.now();
      await kill9(`kafka-${controller}`);
      await sleep(5_000);
      await sluice('stack', 'start', `kafka-${controller}`);
      return [
        { what: `broker ${leader} (leader of partition 0)`, at: brokerAt, until: controllerAt },
        { what: `active controller ${controller}`, at: controllerAt },
      ];
    }),
);

test(
  'a Redis master killed with kill -9 mid-stream: its replica takes over, exact',
  { timeout: 600_000 },
  (t) =>
    drill(t, 'redis', 2, 32, async (fleet) => {
      await sleep(3_000);
      // The master holding partition 0's working state (its keys share one hash tag, so one slot).
      const victim = await redisMasterOf(`{${fleet.env.SLUICE_CONSUMER_GROUP}|ecommerce|0}`);
      const at = Date.now();
      await kill9(victim);
      await sleep(8_000);
      // Back, it rejoins as a replica of the master that replaced it.
      await sluice('stack', 'start', victim);
      return [{ what: `${victim} (master of partition 0's state)`, at }];
    }),
);

test(
  'three Bun workers: one killed with kill -9 and one added mid-stream, exact',
  { timeout: 600_000 },
  (t) =>
    drill(t, 'workers', 3, 33, async (fleet) => {
      await sleep(4_000);
      const [victim] = fleet.workers.splice(0, 1);
      assert.ok(victim !== undefined);
      const at = Date.now();
      await victim.stop('SIGKILL');
      await sleep(2_000);
      fleet.workers.push(await startService('processor', fleet.env, 'bun'));
      return [{ what: 'worker killed, another added', at }];
    }),
);

test(
  'a worker cut off from PostgreSQL and paused past its session (a zombie) while the others carry on: exact',
  {
    timeout: 600_000,
  },
  (t) =>
    drill(t, 'zombie', 2, 34, async (fleet) => {
      // A third worker reaches PostgreSQL through a gate: held, its commits wait in flight.
      const db = new URL(fleet.env.SLUICE_DATABASE_URL ?? '');
      const gate = await tcpGate({ host: db.hostname, port: Number(db.port || 5432) });
      // The gate outlives this function: the zombie keeps its connections through it to the end.
      fleet.cleanups.push(async () => {
        gate.release();
        await gate.close();
      });
      const gated = new URL(db);
      gated.port = String(gate.port);
      const zombie = await startService(
        'processor',
        { ...fleet.env, SLUICE_DATABASE_URL: gated.toString() },
        'bun',
      );
      fleet.workers.push(zombie);
      const metric = async (name: string, labels: Record<string, string> = {}) =>
        (await scrape(zombie.url)).sum(name, labels);
      await waitFor(
        async () =>
          (await metric('sluice_processor_events_total', { outcome: 'processed' })) > 0 ? true : undefined,
        {
          what: 'the third worker processing',
        },
      );
      // Cut off: what it sends PostgreSQL from now on waits at the gate. It commits a batch every
      // few hundred ms, so within a second one of its commits is in flight there (Redis's step done).
      gate.hold();
      await waitFor(async () => (gate.held().length > 0 ? true : undefined), {
        what: 'a write of the third worker held',
      });
      await sleep(1_000);
      const pid = zombie.pid;
      assert.ok(pid !== undefined);
      // Paused past its session too: the group gives its partitions to the others, who carry on.
      const at = Date.now();
      process.kill(pid, 'SIGSTOP');
      await sleep(10_000);
      // Awake, its held writes reach PostgreSQL under its old epoch: refused, never counted.
      gate.release();
      process.kill(pid, 'SIGCONT');
      await waitFor(async () => ((await metric('sluice_processor_fenced_total')) > 0 ? true : undefined), {
        timeoutMs: 60_000,
        what: "the zombie's write refused",
      });
      return [{ what: 'zombie worker (cut off, paused 10 s, session 6 s)', at }];
    }),
);
