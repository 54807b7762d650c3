// sluice-ingest configuration: one zod schema over the environment, parsed once in main.ts.

import {
  hostEnv,
  kafkaBrokersEnv,
  logLevelEnv,
  otlpEndpointEnv,
  portEnv,
  sampleRatioEnv,
} from '@sluice/shared/config';
import { z } from 'zod';

export const ingestConfigSchema = z
  .object({
    SLUICE_INGEST_HOST: hostEnv,
    SLUICE_INGEST_PORT: portEnv(8080),
    SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
    SLUICE_OTLP_ENDPOINT: otlpEndpointEnv,
    SLUICE_TRACE_SAMPLE_RATIO: sampleRatioEnv,
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .transform((env) => ({
    host: env.SLUICE_INGEST_HOST,
    port: env.SLUICE_INGEST_PORT,
    kafkaBrokers: env.SLUICE_KAFKA_BROKERS,
    otlpEndpoint: env.SLUICE_OTLP_ENDPOINT,
    sampleRatio: env.SLUICE_TRACE_SAMPLE_RATIO,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type IngestConfig = z.output<typeof ingestConfigSchema>;
