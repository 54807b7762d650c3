// How a client authenticates to Kafka and encrypts its connections: the protocol names and SASL
// mechanisms Kafka's own clients use (security.protocol, sasl.mechanism), so a managed cluster's
// documented settings (Confluent Cloud, MSK, Aiven) map one to one onto SLUICE_KAFKA_* variables.
// Both adapters take the same KafkaSecurity: platformatic as Node TLS options and its SASL block,
// librdkafka as its own properties. This module loads no client, so Bun can import it.

import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  readonly protocol: KafkaSecurityProtocol;
  /** Present exactly when the protocol is SASL_PLAINTEXT or SASL_SSL (the config schema checks). */
  readonly sasl?: {
    readonly mechanism: KafkaSaslMechanism;
    readonly username: string;
    readonly password: string;
  };
  /** PEM bundle of the CAs that sign the brokers' certificates; the system's roots when absent. */
  readonly caFile?: string;
}

export const PLAINTEXT: KafkaSecurity = { protocol: 'PLAINTEXT' };

export const usesTls = (s: KafkaSecurity): boolean => s.protocol === 'SSL' || s.protocol === 'SASL_SSL';

/** @platformatic/kafka's connection options: Node TLS (hostname verified) and its SASL block. */
export function platformaticSecurity(s: KafkaSecurity | undefined): {
  tls?: TlsOptions;
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
} {
  if (s === undefined) return {};
  return {
    ...(usesTls(s)
      ? {
          tls: s.caFile === undefined ? { rejectUnauthorized: true } : { ca: readFileSync(s.caFile, 'utf8') },
        }
      : {}),
    ...(s.sasl === undefined ? {} : { sasl: { ...s.sasl } }),
  };
}

/** librdkafka's properties for the same settings (its hostname check is on by default). */
export function librdkafkaSecurity(s: KafkaSecurity | undefined): Record<string, string> {
  if (s === undefined || s.protocol === 'PLAINTEXT') return {};
  return {
    'security.protocol': s.protocol.toLowerCase(),
    ...(s.caFile === undefined ? {} : { 'ssl.ca.location': s.caFile }),
    ...(usesTls(s) ? { 'ssl.endpoint.identification.algorithm': 'https' } : {}),
    ...(s.sasl === undefined
      ? {}
      : {
          'sasl.mechanisms': s.sasl.mechanism,
          'sasl.username': s.sasl.username,
          'sasl.password': s.sasl.password,
        }),
  };
}
