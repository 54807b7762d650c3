// SIGTERM drains ingest and the query service cleanly on each runtime they run on (guarantee 6's
// drain): the server stops (ingest's producer flushes), then every client closes, and the process
// exits 0 having logged `stopped`. A close that fails makes the drain log `stop failed` and end by
// the signal instead, which is what the key and webhook source tables' UNLISTEN racing the end of
// the PostgreSQL pool it is written on did (both services, Node and Bun alike): the tables now close
// before the pool.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { withKeyDb } from '../../shared/test/keys.ts';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { SUPPORTED_RUNTIMES } from '../../tools/services/launch.ts';

let iso: Isolation;
before(async () => {
  iso = await isolate('drain');
  // The query service reads the tables ingest and the processor migrate; it may start first here.
  await withKeyDb(iso.databaseUrl, async () => undefined);
});
after(async () => {
  await iso.cleanup();
});

for (const name of ['ingest', 'query'] as const)
  for (const runtime of SUPPORTED_RUNTIMES[name]) {
    test(`${name} on ${runtime} drains on SIGTERM: exit 0, every close done`, {
      timeout: 60_000,
    }, async () => {
      // Auth on (the key table) and webhooks on (ingest's source table, its default): both listen
      // on the service's PostgreSQL pool.
      const service = await startService(
        name,
        { ...iso.env, SLUICE_AUTH: 'on', SLUICE_LOG_LEVEL: 'info' },
        runtime,
      );
      const code = await service.stop('SIGTERM');
      const output = service.output();
      assert.doesNotMatch(output, /stop failed/, output);
      assert.match(output, /"msg":"stopped"/, output);
      assert.equal(code, 0, output);
    });
  }
