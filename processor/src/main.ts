// Composition root of sluice-processor (Node 24): config, telemetry, migrations, health, drain.
// The consumer loop (windows, state, sink) lands with the pipeline.

import { loadConfig } from '@sluice/shared/config';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { applyAppDefaults } from '@sluice/shared/http/app-defaults';
import { serveHttp } from '@sluice/shared/http/serve';
import { closeAll, onShutdown } from '@sluice/shared/lifecycle';
import { createLogger } from '@sluice/shared/log';
import { startNodeTracing } from '@sluice/shared/telemetry/node-tracing';
import { Hono } from 'hono';
import { processorConfigSchema } from './config.ts';

const config = loadConfig('sluice-processor', processorConfigSchema, {
  argv: process.argv,
  env: process.env,
  write: (line) => process.stderr.write(`${line}\n`),
  exit: (code) => process.exit(code),
});
const log = createLogger('sluice-processor', config.logLevel);
const tracing = startNodeTracing({
  serviceName: 'sluice-processor',
  endpoint: config.otlpEndpoint,
  sampleRatio: config.sampleRatio,
});
const db = createDb({ url: config.databaseUrl, applicationName: 'sluice-processor' });
// The processor owns the schema: it applies committed migrations before it writes any row.
await applyMigrations(db.db);

const health = new Hono<{ Variables: BaseVariables }>();
applyAppDefaults(health, { onUnexpected: (error) => log.error({ err: error }, 'unhandled error') });
health.get('/healthz', (c) => c.json({ status: 'ok' }));
const server = await serveHttp(health.fetch, { hostname: config.host, port: config.port });
log.info({ port: server.port }, 'processor started');

onShutdown(
  async () => {
    await server.close();
    await closeAll([() => db.close(), () => tracing.shutdown()]);
  },
  { log: (message, fields) => log.info(fields ?? {}, message) },
);
