// SIGTERM drains ingest cleanly on each runtime it runs on (guarantee 6's drain): intake stops, the
// producer flushes, then every client closes, and the process exits 0 having logged `stopped`. A
// close that fails makes the drain log `stop failed` and end by the signal instead, which is what
// the webhook source table's UNLISTEN racing the end of its own PostgreSQL pool did (on Node and
// Bun alike): the tables that read the pool now close before it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Isolation } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { SUPPORTED_RUNTIMES } from '../../tools/services/launch.ts';

let iso: Isolation;
before(async () => {
  iso = await isolate('ingest-drain');
});
after(async () => {
  await iso.cleanup();
});

for (const runtime of SUPPORTED_RUNTIMES.ingest) {
  test(`ingest on ${runtime} drains on SIGTERM: exit 0, every close done`, { timeout: 60_000 }, async () => {
    // Webhooks on (the default) and auth on: both tables listen on ingest's PostgreSQL pool.
    const ingest = await startService(
      'ingest',
      { ...iso.env, SLUICE_AUTH: 'on', SLUICE_LOG_LEVEL: 'info' },
      runtime,
    );
    const code = await ingest.stop('SIGTERM');
    const output = ingest.output();
    assert.doesNotMatch(output, /stop failed/, output);
    assert.match(output, /"msg":"stopped"/, output);
    assert.equal(code, 0, output);
  });
}
