// sluice-edge configuration: one zod schema over the environment (Deno.env or process.env).

import { hostEnv, logLevelEnv, portEnv } from '@sluice/shared/config';
import { z } from 'zod';

export const edgeConfigSchema = z
  .object({
    SLUICE_EDGE_HOST: hostEnv,
    SLUICE_EDGE_PORT: portEnv(8787),
    SLUICE_INGEST_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    SLUICE_LOG_LEVEL: logLevelEnv,
  })
  .transform((env) => ({
    host: env.SLUICE_EDGE_HOST,
    port: env.SLUICE_EDGE_PORT,
    ingestUrl: env.SLUICE_INGEST_URL,
    logLevel: env.SLUICE_LOG_LEVEL,
  }));

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
