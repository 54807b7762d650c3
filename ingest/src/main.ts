// Composition root of sluice-ingest (Node 24): config, telemetry, app, server, drain.

import { loadConfig } from '@sluice/shared/config';
import { serveHttp } from '@sluice/shared/http/serve';
import { closeAll, onShutdown } from '@sluice/shared/lifecycle';
import { createLogger } from '@sluice/shared/log';
import { startNodeTracing } from '@sluice/shared/telemetry/node-tracing';
import { createIngestApp } from './app.ts';
import { ingestConfigSchema } from './config.ts';

const config = loadConfig('sluice-ingest', ingestConfigSchema, {
  argv: process.argv,
  env: process.env,
  write: (line) => process.stderr.write(`${line}\n`),
  exit: (code) => process.exit(code),
});
const log = createLogger('sluice-ingest', config.logLevel);
const tracing = startNodeTracing({
  serviceName: 'sluice-ingest',
  endpoint: config.otlpEndpoint,
  sampleRatio: config.sampleRatio,
});
const app = createIngestApp({ log });
const server = await serveHttp(app.fetch, { hostname: config.host, port: config.port });
log.info({ host: config.host, port: server.port, runtime: server.runtime }, 'listening');

// Drain order (STYLE #10): stop intake first, then flush telemetry.
onShutdown(
  async () => {
    await server.close();
    await closeAll([() => tracing.shutdown()]);
  },
  { log: (message, fields) => log.info(fields ?? {}, message) },
);
