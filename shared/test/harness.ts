// Test harness for integration tests against the real local stack (STYLE #11): names that no other
// test uses, the stack's addresses from the environment `./sluice test` exports, and polling.

import { randomBytes } from 'node:crypto';

export interface StackEnv {
  readonly kafkaBrokers: string[];
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly otlpEndpoint: string;
  readonly jaegerQueryUrl: string;
  readonly k6Bin: string;
  readonly kafkaHome: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: run integration tests through ./sluice test, which starts the stack and exports it`,
    );
  }
  return value;
}

export function stackEnv(): StackEnv {
  return {
    kafkaBrokers: required('SLUICE_KAFKA_BROKERS').split(','),
    databaseUrl: required('SLUICE_DATABASE_URL'),
    redisUrl: required('SLUICE_REDIS_URL'),
    otlpEndpoint: required('SLUICE_OTLP_ENDPOINT'),
    jaegerQueryUrl: required('SLUICE_JAEGER_QUERY_URL'),
    k6Bin: required('SLUICE_K6_BIN'),
    kafkaHome: required('SLUICE_KAFKA_HOME'),
  };
}

/** A name no other test run uses: for topics, consumer groups, key prefixes and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly what?: string;
}

/** Polls `probe` until it returns a value other than undefined, or fails after the timeout. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
  const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out waiting for ${options.what ?? 'condition'}${suffix}`);
}
