// Configuration is one zod schema per service, parsed once in main.ts from the environment
// (STYLE #1). A bad environment fails fast listing every problem, not just the first; the
// `--check-config` flag validates and exits, so deploys can check a config without starting.

import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { KafkaSaslMechanism, KafkaSecurity, KafkaSecurityProtocol } from './kafka/security.ts';
import { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS } from './kafka/security.ts';
import { parseRedisTarget } from './redis/target.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';
import { fieldErrors } from './zod-issues.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export function parseConfig<T>(schema: z.ZodType<T>, env: Env): Result<T, string[]> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return ok(parsed.data);
  return fail(fieldErrors(parsed.error.issues, '(env)').map((e) => `${e.path}: ${e.message}`));
}

export interface LoadConfigOptions {
  readonly argv: readonly string[];
  readonly env: Env;
  /** Where messages go; stderr and process.exit in main.ts, captured in tests. */
  readonly write: (line: string) => void;
  readonly exit: (code: number) => never;
}

export function loadConfig<T>(service: string, schema: z.ZodType<T>, options: LoadConfigOptions): T {
  const result = parseConfig(schema, options.env);
  if (!result.ok) {
    options.write(`${service}: invalid configuration (${result.error.length} problem(s)):`);
    for (const problem of result.error) options.write(`  - ${problem}`);
    return options.exit(1);
  }
  if (options.argv.includes('--check-config')) {
    options.write(`${service}: configuration ok`);
    return options.exit(0);
  }
  return result.value;
}

// Fragments the services share. Each names the environment variable it reads, so an error says
// exactly which variable to fix.

export const hostEnv = z.string().min(1).default('127.0.0.1');

export const portEnv = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const positiveIntEnv = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Prefix of every topic name, so test runs (or tenants of one cluster) stay apart. */
export const topicPrefixEnv = z
  .string()
  .regex(/^[A-Za-z0-9._-]*$/)
  .default('');

export const kafkaBrokersEnv = z
  .string()
  .default('127.0.0.1:9092')
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port[,host:port...]')).min(1));

export const databaseUrlEnv = z
  .string()
  .default('postgres://sluice:sluice@127.0.0.1:5432/sluice')
  .pipe(z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// URL' }));

/** A single Redis (redis://, rediss://) or a Redis Cluster (redis+cluster://host:port,host:port). */
export const redisUrlEnv = z
  .string()
  .default('redis://127.0.0.1:6379')
  .superRefine((url, ctx) => {
    const target = parseRedisTarget(url);
    if (target instanceof Error) ctx.addIssue({ code: 'custom', message: target.message });
  });

export const otlpEndpointEnv = z
  .string()
  .default('http://127.0.0.1:4318')
  .pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of an OTLP/HTTP collector' }));

export const sampleRatioEnv = z.coerce.number().min(0).max(1).default(1);

export const logLevelEnv = z
  .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
  .default('info');

/** SLUICE_AUTH: API keys on every endpoint; `off` only explicitly (every service warns at start). */
export const authModeEnv = z.enum(['on', 'off']).default('on');

/** SLUICE_OPS_OPEN: /healthz, /readyz and /metrics without a key (a private network's probes). */
export const opsOpenEnv = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** SLUICE_DAILY_EVENTS_QUOTA: a tenant's events per UTC day unless tenant_quotas says; 0: none. */
export const dailyQuotaEnv = z.coerce.number().int().min(0).default(0);

/**
 * SLUICE_SECRETS_KEY: 32 bytes, base64, sealing webhook secrets at rest (webhooks/secret-box.ts).
 * Unset or empty: webhook sources cannot be added nor used (each says so once, in the log).
 */
export const secretsKeyEnv = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** SLUICE_WEBHOOKS: the webhook routes (issue 22); on by default, they need PostgreSQL and Redis. */
export const webhooksEnv = z.enum(['on', 'off']).default('on');

/**
 * Kafka's TLS and SASL (shared/src/kafka/security.ts), in the names Kafka's own clients use; spread
 * into a service's schema with `checkKafkaSecurity` as its refinement and `kafkaSecurityOf` in its
 * transform. Plaintext unless set.
 */
export const kafkaSecurityEnv = {
  SLUICE_KAFKA_SECURITY_PROTOCOL: z.enum(KAFKA_SECURITY_PROTOCOLS).default('PLAINTEXT'),
  SLUICE_KAFKA_SASL_MECHANISM: z.enum(KAFKA_SASL_MECHANISMS).optional(),
  SLUICE_KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  SLUICE_KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** PEM bundle of the CAs that sign the brokers' certificates (the system's roots when unset). */
  SLUICE_KAFKA_CA_FILE: z.string().min(1).optional(),
};

type KafkaSecurityVars = {
  SLUICE_KAFKA_SECURITY_PROTOCOL: KafkaSecurityProtocol;
  SLUICE_KAFKA_SASL_MECHANISM?: KafkaSaslMechanism | undefined;
  SLUICE_KAFKA_SASL_USERNAME?: string | undefined;
  SLUICE_KAFKA_SASL_PASSWORD?: string | undefined;
  SLUICE_KAFKA_CA_FILE?: string | undefined;
};

const SASL_VARS = [
  'SLUICE_KAFKA_SASL_MECHANISM',
  'SLUICE_KAFKA_SASL_USERNAME',
  'SLUICE_KAFKA_SASL_PASSWORD',
] as const;

/**
 * A SASL protocol needs a mechanism, user and password; SASL settings or a CA file beside a protocol
 * that would not use them is a mistake said at start (a password silently unused, a CA never checked).
 */
export function checkKafkaSecurity(env: KafkaSecurityVars, ctx: z.RefinementCtx): void {
  const protocol = env.SLUICE_KAFKA_SECURITY_PROTOCOL;
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  for (const name of SASL_VARS) {
    if (sasl && env[name] === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `required with SLUICE_KAFKA_SECURITY_PROTOCOL=${protocol}`,
      });
    if (!sasl && env[name] !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `set, but SLUICE_KAFKA_SECURITY_PROTOCOL=${protocol} uses no SASL (SASL_SSL or SASL_PLAINTEXT?)`,
      });
  }
  const ca = env.SLUICE_KAFKA_CA_FILE;
  if (ca !== undefined && protocol !== 'SSL' && protocol !== 'SASL_SSL')
    ctx.addIssue({
      code: 'custom',
      path: ['SLUICE_KAFKA_CA_FILE'],
      message: `set, but SLUICE_KAFKA_SECURITY_PROTOCOL=${protocol} uses no TLS (SSL or SASL_SSL?)`,
    });
  if (ca !== undefined && !existsSync(ca))
    ctx.addIssue({ code: 'custom', path: ['SLUICE_KAFKA_CA_FILE'], message: `no such file: ${ca}` });
}

export function kafkaSecurityOf(env: KafkaSecurityVars): KafkaSecurity {
  const mechanism = env.SLUICE_KAFKA_SASL_MECHANISM;
  const username = env.SLUICE_KAFKA_SASL_USERNAME;
  const password = env.SLUICE_KAFKA_SASL_PASSWORD;
  const sasl =
    (env.SLUICE_KAFKA_SECURITY_PROTOCOL === 'SASL_SSL' ||
      env.SLUICE_KAFKA_SECURITY_PROTOCOL === 'SASL_PLAINTEXT') &&
    mechanism !== undefined &&
    username !== undefined &&
    password !== undefined
      ? { mechanism, username, password }
      : undefined;
  return {
    protocol: env.SLUICE_KAFKA_SECURITY_PROTOCOL,
    ...(sasl === undefined ? {} : { sasl }),
    ...(env.SLUICE_KAFKA_CA_FILE === undefined ? {} : { caFile: env.SLUICE_KAFKA_CA_FILE }),
  };
}

/** PEM bundle of the CAs that sign a rediss:// server's certificate (the system's roots when unset). */
export const redisCaFileEnv = z
  .string()
  .min(1)
  .optional()
  .refine((file) => file === undefined || existsSync(file), 'no such file');
