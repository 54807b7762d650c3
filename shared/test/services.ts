// Starts sluice services as real processes for integration tests: on a free port (taken as started
// only when the child itself answers there: port-owner.ts), with an isolated
// environment (fresh topic prefix, consumer group, database and cache prefix), waiting for /healthz.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import postgres from 'postgres';
import type { Runtime, ServiceName } from '../../tools/services/launch.ts';
import { launchOf, PORT_VAR, ROOT, runtimeOf } from '../../tools/services/launch.ts';
import { createRedis, scanKeys } from '../src/redis/client.ts';
import { groupBySlot } from '../src/redis/slots.ts';
import { dropDatabase } from './drop-database.ts';
import { stackEnv, uniqueName, waitFor } from './harness.ts';
import { listensOn } from './port-owner.ts';

export type { Runtime, ServiceName };
export { ROOT };

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServiceHandle {
  readonly name: ServiceName;
  readonly url: string;
  readonly port: number;
  /** The process id (benchmarks read its CPU time from /proc). */
  readonly pid: number | undefined;
  /** Sends a signal and waits for the exit (SIGTERM drains; SIGKILL is a crash). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  output(): string;
}

/** The port a service was given was bound by another process first (another test's service). */
export class PortTaken extends Error {}

/** What Node, Bun and Deno print when a listen finds its port taken. */
const IN_USE = /EADDRINUSE|AddrInUse|address already in use|port \d+ in use/i;

/** The output's last characters kept as written, for the listen error. */
const TAIL_CHARS = 4_096;
/** One /healthz probe at most; the wait goes on after it. */
const PROBE_TIMEOUT_MS = 2_000;
/** How long an exited child's last output is waited for. */
const CLOSE_WAIT_MS = 2_000;

/** How many ports a start tries before it gives up (a taken one is rare: another start's race). */
const PORT_ATTEMPTS = 4;

export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  runtime: Runtime = runtimeOf(name),
): Promise<ServiceHandle> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startServiceOn(await freePort(), name, env, runtime);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

/**
 * Starts `name` on `port` and waits until it answers /healthz. Rejects with PortTaken when another
 * process holds the port: the answer must come from the child itself, or a test would talk to
 * another test's service (seen in CI: an auth-off test's requests answered 401 by an auth-on one).
 */
export async function startServiceOn(
  port: number,
  name: ServiceName,
  env: Record<string, string>,
  runtime: Runtime = runtimeOf(name),
): Promise<ServiceHandle> {
  const launch = launchOf(name, runtime, env.SLUICE_OTLP_ENDPOINT ?? '');
  const child: ChildProcess = spawn(launch.command, [...launch.args], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      [PORT_VAR[name]]: String(port),
      ...launch.env,
      SLUICE_LOG_LEVEL: env.SLUICE_LOG_LEVEL ?? 'warn',
      // Tests of the pipeline's data path run without keys; the auth tests say SLUICE_AUTH=on
      // (with keys from shared/test/keys.ts). Health and metrics stay open for the harness's probes.
      SLUICE_AUTH: env.SLUICE_AUTH ?? 'off',
      SLUICE_OPS_OPEN: env.SLUICE_OPS_OPEN ?? 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  // The output's last bytes as written (no line split at a read boundary): the listen error.
  let tail = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    lines.push(...text.split('\n'));
    // Bounded: a chatty service cannot grow the test's memory.
    if (lines.length > 400) lines.splice(0, lines.length - 400);
    tail = (tail + text).slice(-TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // After the exit and its output's last bytes.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const handle: ServiceHandle = {
    name,
    url,
    port,
    pid: child.pid,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
    output: () => lines.join('\n'),
  };
  try {
    const state = await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return 'exited';
        // Bounded: a listener that accepts and never answers cannot hold the wait past its deadline.
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        // 401: up, with its ops endpoints behind a key (SLUICE_OPS_OPEN=false, an auth test).
        if (!response.ok && response.status !== 401) return undefined;
        // Someone else may have answered: then the child fails to bind and exits (above).
        return child.pid !== undefined && (await listensOn(child.pid, port)) !== false ? 'up' : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `sluice-${name} on ${runtime}` },
    );
    if (state === 'exited') {
      // Its output holds the listen error. Bounded: a process it left behind may hold its pipes.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS))]);
      if (IN_USE.test(tail)) throw new PortTaken(`port ${port} was taken by another process`);
      throw new Error(`sluice-${name} exited with ${child.exitCode ?? child.signalCode}`);
    }
  } catch (error) {
    await handle.stop('SIGKILL');
    if (error instanceof PortTaken) throw error;
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- output ---\n${handle.output()}`,
    );
  }
  return handle;
}

export interface Isolation {
  /** Environment for every service of one test: its own topics, group, database and cache keys. */
  readonly env: Record<string, string>;
  readonly topicPrefix: string;
  readonly databaseUrl: string;
  cleanup(): Promise<void>;
}

export async function isolate(label: string): Promise<Isolation> {
  const stack = stackEnv();
  const id = uniqueName(label)
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  const admin = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${id}"`);
  const url = new URL(stack.databaseUrl);
  url.pathname = `/${id}`;
  const topicPrefix = `${id}.`;
  return {
    topicPrefix,
    databaseUrl: url.toString(),
    env: {
      SLUICE_KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      SLUICE_DATABASE_URL: url.toString(),
      SLUICE_REDIS_URL: stack.redisUrl,
      SLUICE_TOPIC_PREFIX: topicPrefix,
      SLUICE_CONSUMER_GROUP: `${id}-processor`,
      SLUICE_CACHE_PREFIX: `${id}:`,
      SLUICE_DEDUP_PREFIX: `${id}:dedup:`,
      SLUICE_STATE_PREFIX: `${id}:state:`,
      SLUICE_OTLP_ENDPOINT: stack.otlpEndpoint,
    },
    async cleanup() {
      await dropDatabase(admin, id);
      await admin.end();
      await deleteTopics(stack.kafkaBrokers, topicPrefix);
      await deleteRedisKeys(stack.redisUrl, `${id}:*`);
    },
  };
}

/** Removes a test's Redis keys (cache entries, generations, dedup claims): nothing outlives it. */
export async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = createRedis(url);
  try {
    // One UNLINK per slot: on a Redis Cluster a command's keys must share one.
    for await (const keys of scanKeys(redis, pattern))
      await Promise.all(groupBySlot(redis, keys, (k) => k).map((group) => redis.unlink(...group)));
  } finally {
    await redis.quit();
  }
}

export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * One integration test's services on one isolation, with a PostgreSQL client on its database:
 * start() runs a service with the shared environment (plus `extra`), close() stops every one of
 * them and removes the isolation.
 */
export interface TestPipeline {
  readonly iso: Isolation;
  readonly sql: postgres.Sql;
  readonly services: readonly ServiceHandle[];
  start(name: ServiceName, extra?: Record<string, string>, runtime?: Runtime): Promise<ServiceHandle>;
  close(): Promise<void>;
}

export async function testPipeline(label: string, env: Record<string, string> = {}): Promise<TestPipeline> {
  const iso = await isolate(label);
  const sql = postgres(iso.databaseUrl, { max: 2, onnotice: () => {} });
  const services: ServiceHandle[] = [];
  return {
    iso,
    sql,
    services,
    async start(name, extra = {}, runtime) {
      const service = await startService(name, { ...iso.env, ...env, ...extra }, runtime);
      services.push(service);
      return service;
    },
    async close() {
      await Promise.all(services.map((s) => s.stop()));
      await sql.end();
      await iso.cleanup();
    },
  };
}
