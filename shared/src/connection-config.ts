// The configuration fragments for connections to managed services (issue 26): Kafka's TLS and SASL
// and a Redis CA file. Apart from config.ts because they read files (node:fs), which the edge's
// Web-API-only build must not import.

import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { KafkaSaslMechanism, KafkaSecurity, KafkaSecurityProtocol } from './kafka/security.ts';
import { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS } from './kafka/security.ts';

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
