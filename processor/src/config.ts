// sluice-processor configuration: one zod schema over the environment, parsed once in main.ts.

import {
  databaseUrlEnv,
  hostEnv,
  kafkaBrokersEnv,
  logLevelEnv,
  otlpEndpointEnv,
  portEnv,
  redisUrlEnv,
  sampleRatioEnv,
} from '@sluice/shared/config';
import { z } from 'zod';

export const processorConfigSchema = z
  .object({
    SLUICE_PROCESSOR_HOST: hostEnv,
    /** Health and (later) /metrics; the processor has no other HTTP surface. */
    SLUICE_PROCESSOR_PORT: portEnv(9464),
    SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
    SLUICE_DATABASE_URL: databaseUrlEnv,
    SLUICE_REDIS_URL: redisUrlEnv,
    SLUICE_OTLP_ENDPOINT: otlpEndpointEnv,
    SLUICE_TRACE_SAMPLE_RATIO: sampleRatioEnv,
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .transform((env) => ({
    host: env.SLUICE_PROCESSOR_HOST,
    port: env.SLUICE_PROCESSOR_PORT,
    kafkaBrokers: env.SLUICE_KAFKA_BROKERS,
    databaseUrl: env.SLUICE_DATABASE_URL,
    redisUrl: env.SLUICE_REDIS_URL,
    otlpEndpoint: env.SLUICE_OTLP_ENDPOINT,
    sampleRatio: env.SLUICE_TRACE_SAMPLE_RATIO,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type ProcessorConfig = z.output<typeof processorConfigSchema>;
