// One worker pipeline per test for the processor's integration tests and drills: ingest and one
// processor on the test's own topics, group and database, with an idle timeout longer than any pause
// while a test's workload is still arriving (a worker draining, a restart) and short enough that
// the final windows settle within seconds (guarantee 7: an idle partition's watermark moves to wall
// clock, after which older event times would rightly count as late).
//
// A test file calls useWorkerPipeline() once; the running test's pipeline is then in the exported
// bindings (ES module bindings are live: each test sees its own), and a test that restarts the
// processor says so with setProcessor.

import { afterEach, beforeEach } from 'node:test';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import postgres from 'postgres';
import { stackEnv } from '../../shared/test/harness.ts';
import { postTransactions } from '../../shared/test/ingest-client.ts';
import { scrape } from '../../shared/test/prometheus.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import type { Transaction } from '../../tools/ecommerce-data.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { assertExact as assertExactIn, windowsBetween as windowsIn } from './exact.ts';

export interface WorkerPipeline {
  readonly iso: Isolation;
  readonly env: Record<string, string>;
  readonly ingest: ServiceHandle;
  readonly processor: ServiceHandle;
  readonly sql: postgres.Sql;
}

export async function startWorkerPipeline(label: string): Promise<WorkerPipeline> {
  const iso = await isolate(label);
  const env = {
    ...iso.env,
    SLUICE_IDLE_TIMEOUT_MS: '6000',
    SLUICE_TICK_MS: '250',
    SLUICE_MAX_BATCH: '50',
    SLUICE_SESSION_TIMEOUT_MS: '6000',
    // The ecommerce stream only: partition counts below are its 6 (the bakery streams have a test).
    SLUICE_STREAMS: 'ecommerce',
  };
  const ingest = await startService('ingest', env);
  const processor = await startService('processor', env);
  const sql = postgres(iso.databaseUrl, { max: 2, onnotice: () => {} });
  return { iso, env, ingest, processor, sql };
}

/** Stops the pipeline's services (the processor as it is now: a test may have replaced it). */
export async function stopWorkerPipeline(pipeline: WorkerPipeline): Promise<void> {
  await Promise.all([pipeline.ingest.stop(), pipeline.processor.stop()]);
  await pipeline.sql.end();
  await pipeline.iso.cleanup();
}

export function transactions(
  seed: number,
  prefix: string,
  base: number,
  count: number,
  spanMs: number,
): Transaction[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) =>
    makeTransaction(random, `${prefix}-${i}`, base + Math.floor((i / count) * spanMs)),
  );
}

/** Produces values as they are, past intake (a producer other than ingest, or a hostile one). */
export async function produceRaw(
  topic: string,
  messages: { key: string; value: string; headers?: Record<string, string> }[],
): Promise<void> {
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: stackEnv().kafkaBrokers, logLevel: KafkaJS.logLevel.NOTHING },
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

export let iso: Isolation;
export let env: Record<string, string>;
export let ingest: ServiceHandle;
export let processor: ServiceHandle;
export let sql: postgres.Sql;

/** A fresh pipeline before each test of the file, stopped and removed after it. */
export function useWorkerPipeline(label = 'processor'): void {
  beforeEach(async () => {
    ({ iso, env, ingest, processor, sql } = await startWorkerPipeline(label));
  });
  afterEach(() => stopWorkerPipeline({ iso, env, ingest, processor, sql }));
}

/** The test restarted its processor: this one is stopped after the test. */
export function setProcessor(handle: ServiceHandle): void {
  processor = handle;
}

export const send = (batch: readonly Transaction[]) => postTransactions(ingest.url, batch);

export const windowsBetween = (from: number, to: number) => windowsIn(sql, from, to);

/** The windows hold exactly `sent`; a failure prints the output of every worker of the test. */
export const assertExact = (
  sent: readonly Transaction[],
  from: number,
  to: number,
  workers: readonly ServiceHandle[] = [processor],
) => assertExactIn(sql, sent, from, to, workers);

export async function duplicatesCounted(): Promise<number> {
  return (await scrape(processor.url)).sum('sluice_processor_events_total', { outcome: 'duplicate' });
}
