// Kafka's own command-line tools from the same jars as the broker (ProducerPerformance,
// ConsumerPerformance, TopicCommand): the baselines benchmarks measure sluice against.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stackEnv, uniqueName } from '../shared/test/harness.ts';
import { ROOT } from '../shared/test/services.ts';

const run = promisify(execFile);

/** Runs one Kafka tool class and returns its standard output. */
export async function kafkaTool(main: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(
    'java',
    [
      '-Xmx512m',
      '-cp',
      `${stackEnv().kafkaHome}/libs/*`,
      `-Dlog4j2.configurationFile=${ROOT}deploy/local/kafka/log4j2.properties`,
      main,
      ...args,
    ],
    { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
  );
  return stdout;
}

/** Records/s Kafka's ConsumerPerformance reads `messages` records of `topic` at, from the start. */
export async function rawConsumeRate(topic: string, messages: number): Promise<number> {
  const perf = await kafkaTool(
    'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server',
    stackEnv().kafkaBrokers.join(','),
    '--topic',
    topic,
    '--messages',
    String(messages),
    '--group',
    uniqueName('bench-consumer-perf'),
  );
  // The data line: start, end, MB, MB/s, records, records/s, ...
  const line = perf.trim().split('\n').at(-1) ?? '';
  return Number(line.split(',')[5]);
}
