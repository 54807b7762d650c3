// SIGTERM drains the query service cleanly on each runtime it runs on: the server stops, then every
// client closes, and the process exits 0 having logged `stopped`. With auth on its key table listens
// on the service's PostgreSQL pool; its UNLISTEN raced the end of that pool (`stop failed`, an
// exit by the signal) until the table closed before the pool.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { withKeyDb } from '../../shared/test/keys.ts';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { SUPPORTED_RUNTIMES } from '../../tools/services/launch.ts';

let iso: Isolation;
before(async () => {
  iso = await isolate('query-drain');
  // The query service reads the tables ingest and the processor migrate; neither runs here.
  await withKeyDb(iso.databaseUrl, async () => undefined);
});
after(async () => {
  await iso.cleanup();
});

for (const runtime of SUPPORTED_RUNTIMES.query) {
  test(`query on ${runtime} drains on SIGTERM: exit 0, every close done`, { timeout: 60_000 }, async () => {
    const query = await startService(
      'query',
      { ...iso.env, SLUICE_AUTH: 'on', SLUICE_LOG_LEVEL: 'info' },
      runtime,
    );
    const code = await query.stop('SIGTERM');
    const output = query.output();
    assert.doesNotMatch(output, /stop failed/, output);
    assert.match(output, /"msg":"stopped"/, output);
    assert.equal(code, 0, output);
  });
}
