// One definition of how each service starts (tools/services/launch.ts): ./sluice spawns what
// `tools/cli.ts service-launch` prints, and the tests' harness spawns launchOf itself, so the two
// cannot disagree on a runtime's flags.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { launchOf, ROOT, runtimeOf, SERVICE_NAMES } from '../../../tools/services/launch.ts';

const run = promisify(execFile);

test('the edge on Deno exports its spans through Deno and may read, reach the network and the env, nothing more', () => {
  const launch = launchOf('edge', 'deno', 'http://127.0.0.1:4318');
  assert.equal(launch.command, 'deno');
  assert.deepEqual(launch.args, [
    'run',
    '--allow-env',
    '--allow-net',
    '--allow-read',
    `${ROOT}edge/src/main.ts`,
  ]);
  assert.deepEqual(launch.env, {
    OTEL_DENO: 'true',
    OTEL_SERVICE_NAME: 'sluice-edge',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
  });
});

test('the edge on Bun gets its tracing SDK from the preload; query and ingest on Bun need none', () => {
  assert.deepEqual(launchOf('edge', 'bun').args, [
    '--preload',
    `${ROOT}edge/bun/tracing-preload.ts`,
    `${ROOT}edge/src/main.ts`,
  ]);
  assert.deepEqual(launchOf('query').args, [`${ROOT}query/src/main.ts`]);
  assert.equal(launchOf('query').command, 'bun');
  assert.deepEqual(launchOf('ingest').args, [`${ROOT}ingest/src/main.ts`]);
  assert.equal(launchOf('ingest').command, 'bun');
  assert.equal(launchOf('ingest', 'node').command, 'node');
  assert.equal(launchOf('processor', 'node').command, 'node');
});

test('the processor runs on Bun unless SLUICE_PROCESSOR_RUNTIME says node; other values are refused', () => {
  assert.equal(runtimeOf('processor', {}), 'bun');
  assert.equal(runtimeOf('processor', { SLUICE_PROCESSOR_RUNTIME: '' }), 'bun');
  assert.equal(runtimeOf('processor', { SLUICE_PROCESSOR_RUNTIME: 'node' }), 'node');
  assert.equal(
    launchOf('processor', runtimeOf('processor', { SLUICE_PROCESSOR_RUNTIME: 'bun' })).command,
    'bun',
  );
  assert.throws(() => runtimeOf('processor', { SLUICE_PROCESSOR_RUNTIME: 'deno' }), /runs on bun or node/);
  assert.equal(runtimeOf('ingest', {}), 'bun');
  assert.equal(runtimeOf('ingest', { SLUICE_INGEST_RUNTIME: 'node' }), 'node');
  assert.throws(() => runtimeOf('edge', { SLUICE_EDGE_RUNTIME: 'node' }), /runs on deno or bun$/);
});

test('what ./sluice spawns is launchOf, word for word', async () => {
  for (const name of SERVICE_NAMES) {
    const { stdout } = await run(process.execPath, [`${ROOT}tools/cli.ts`, 'service-launch', name], {
      env: {
        ...process.env,
        SLUICE_OTLP_ENDPOINT: 'http://otel.test:4318',
        SLUICE_EDGE_RUNTIME: 'deno',
        SLUICE_PROCESSOR_RUNTIME: 'node',
      },
    });
    const runtime = runtimeOf(name, { SLUICE_EDGE_RUNTIME: 'deno', SLUICE_PROCESSOR_RUNTIME: 'node' });
    const launch = launchOf(name, runtime, 'http://otel.test:4318');
    const env = Object.entries(launch.env).map(([k, v]) => `${k}=${v}`);
    assert.deepEqual(stdout.trimEnd().split('\n'), ['env', ...env, launch.command, ...launch.args], name);
  }
  const services = await readFile(`${ROOT}deploy/local/lib/services.sh`, 'utf8');
  // The bash side spells no runtime flag of its own.
  for (const flag of ['--allow-net', '--preload', 'OTEL_DENO']) assert.ok(!services.includes(flag), flag);
});
