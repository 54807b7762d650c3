// Composition root of sluice-edge on Deno or Bun: config, app, server, drain.

import { loadConfig } from '@sluice/shared/config';
import { createEdgeApp } from './app.ts';
import { edgeConfigSchema } from './config.ts';
import { detectRuntime } from './runtime.ts';

const runtime = detectRuntime();
const config = loadConfig('sluice-edge', edgeConfigSchema, {
  argv: runtime.argv,
  env: runtime.env,
  write: (line) => console.error(line),
  exit: (code) => runtime.exit(code),
});
const app = createEdgeApp();
const server = runtime.serve(app.fetch, { hostname: config.host, port: config.port });
console.log(
  JSON.stringify({
    level: 'info',
    service: 'sluice-edge',
    msg: 'listening',
    runtime: runtime.name,
    port: config.port,
  }),
);

let draining = false;
runtime.onSignal(() => {
  if (draining) return;
  draining = true;
  server.close().then(
    () => runtime.exit(0),
    () => runtime.exit(1),
  );
});
