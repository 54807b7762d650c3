// Composition root of sluice-query (Bun by default, Node works too): config, app, server, drain.

import { loadConfig } from '@sluice/shared/config';
import { serveHttp } from '@sluice/shared/http/serve';
import { onShutdown } from '@sluice/shared/lifecycle';
import { createLogger } from '@sluice/shared/log';
import { createQueryApp } from './app.ts';
import { queryConfigSchema } from './config.ts';

const config = loadConfig('sluice-query', queryConfigSchema, {
  argv: process.argv,
  env: process.env,
  write: (line) => process.stderr.write(`${line}\n`),
  exit: (code) => process.exit(code),
});
const log = createLogger('sluice-query', config.logLevel);
const app = createQueryApp({ log });
const server = await serveHttp(app.fetch, { hostname: config.host, port: config.port });
log.info({ host: config.host, port: server.port, runtime: server.runtime }, 'listening');

onShutdown(() => server.close(), { log: (message, fields) => log.info(fields ?? {}, message) });
