// The harness starts a service only when the service itself answers: a port another process took
// between the free-port probe and the service's bind (another test's service, started at the same
// moment) is refused and a new one is tried, so a test never talks to someone else's service.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SUPPORTED_RUNTIMES } from '../../tools/services/launch.ts';
import { listensOn } from './port-owner.ts';
import type { Isolation, ServiceName } from './services.ts';
import { isolate, PortTaken, startService, startServiceOn } from './services.ts';

let iso: Isolation;

before(async () => {
  iso = await isolate('port');
});

after(() => iso.cleanup());

/** The isolation's environment; the edge forwards to an ingest it never reaches here. */
const env = () => ({ ...iso.env, SLUICE_INGEST_URL: 'http://127.0.0.1:9' });

// Every service on every runtime it runs on: each runtime words its listen error its own way.
for (const name of Object.keys(SUPPORTED_RUNTIMES) as ServiceName[])
  for (const runtime of SUPPORTED_RUNTIMES[name])
    test(`${name} on ${runtime}: a port whose /healthz another process answers is refused as taken`, {
      timeout: 90_000,
    }, async () => {
      // The impostor: up, healthy, and not ours.
      const impostor = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      });
      await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
      const { port } = impostor.address() as AddressInfo;
      try {
        assert.equal(await listensOn(process.pid, port), true, 'the impostor (this process) holds the port');
        await assert.rejects(startServiceOn(port, name, env(), runtime), PortTaken);
      } finally {
        await new Promise<void>((resolve) => impostor.close(() => resolve()));
      }
    });

test('a service started on a free port is the one that listens there', { timeout: 90_000 }, async () => {
  const ingest = await startService('ingest', env());
  try {
    assert.ok(ingest.pid !== undefined);
    assert.equal(await listensOn(ingest.pid, ingest.port), true);
    assert.equal(await listensOn(process.pid, ingest.port), false);
  } finally {
    await ingest.stop();
  }
});
