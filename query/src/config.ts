// sluice-query configuration: one zod schema over the environment, parsed once in main.ts.

import { databaseUrlEnv, hostEnv, logLevelEnv, portEnv, redisUrlEnv } from '@sluice/shared/config';
import { z } from 'zod';

export const queryConfigSchema = z
  .object({
    SLUICE_QUERY_HOST: hostEnv,
    SLUICE_QUERY_PORT: portEnv(8081),
    SLUICE_DATABASE_URL: databaseUrlEnv,
    SLUICE_REDIS_URL: redisUrlEnv,
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .transform((env) => ({
    host: env.SLUICE_QUERY_HOST,
    port: env.SLUICE_QUERY_PORT,
    databaseUrl: env.SLUICE_DATABASE_URL,
    redisUrl: env.SLUICE_REDIS_URL,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type QueryConfig = z.output<typeof queryConfigSchema>;
