// Configuration is one zod schema per service, parsed once in main.ts from the environment
// (STYLE #1). A bad environment fails fast listing every problem, not just the first; the
// `--check-config` flag validates and exits, so deploys can check a config without starting.

import { z } from 'zod';
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
