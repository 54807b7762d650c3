// What a Kafka adapter is built from, whichever client it wraps: these options are the port's, so a
// service picks an adapter (confluent on Node, platformatic on Node or Bun) without changing them.
// This module loads no client, so Bun can import it.

import type { Logger } from '../log.ts';
import type { KafkaSecurity } from './security.ts';

/** Where a client's own warnings and errors go (a service passes its JSON logger; tests pass nothing). */
export type KafkaLogSink = (level: 'warn' | 'error', message: string, extra: object) => void;

/** The sink that writes the client's warnings and errors into a service's JSON log. */
export const kafkaLogTo =
  (log: Logger): KafkaLogSink =>
  (level, message, extra) =>
    log[level]({ kafka: extra }, message);

export interface ClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log?: KafkaLogSink;
  /** TLS and SASL (SLUICE_KAFKA_SECURITY_PROTOCOL and friends); plaintext when absent. */
  readonly security?: KafkaSecurity;
}

export const PRODUCE_COMPRESSIONS = ['none', 'lz4', 'zstd', 'gzip', 'snappy'] as const;
export type ProduceCompression = (typeof PRODUCE_COMPRESSIONS)[number];

export interface ProducerOptions extends ClientOptions {
  /** How long a record may wait for acks before the send fails. */
  readonly deliveryTimeoutMs: number;
  /** Upper bound on records queued in the client (bounded memory; queue full answers 503). */
  readonly maxQueuedRecords: number;
  readonly lingerMs?: number;
  /** Batch compression; lz4 unless chosen otherwise. */
  readonly compression?: ProduceCompression;
  /** Called when a new client replaced one broken by a fatal error. */
  readonly onRenewed?: () => void;
}

export interface ConsumerOptions extends ClientOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Records handed to one onBatch call at most (bounded in-flight work). */
  readonly maxBatchSize: number;
  /** Partitions handled concurrently (each one's batches stay in order). */
  readonly concurrency: number;
  /** How long a silent member keeps its partitions; a crashed worker's are reassigned after it. */
  readonly sessionTimeoutMs?: number;
}

/** The clients a service can talk to Kafka through (SLUICE_KAFKA_CLIENT). */
export const KAFKA_CLIENTS = ['confluent', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return String(error);
}
