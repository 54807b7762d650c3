// Migrations applied by several processes at once on a new database (a Deployment's replicas, or
// ingest and the processor starting together): every one of them succeeds and the schema is made
// once. The services apply migrations at start, so a failure here would be a crash loop on a
// first install (issue 26).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDb } from '@sluice/shared/db/client';
import { applyMigrations } from '@sluice/shared/db/migrate';
import { isolate } from './services.ts';

test('four processes migrating one new database at once all succeed', async () => {
  const iso = await isolate('migrate_race');
  const handles = Array.from({ length: 4 }, (_, i) =>
    createDb({ url: iso.databaseUrl, maxConnections: 2, applicationName: `migrate-${i}` }),
  );
  try {
    const results = await Promise.allSettled(handles.map((h) => applyMigrations(h.db)));
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
      [],
    );
    const first = handles[0];
    assert.ok(first);
    const [applied] = await first.sql<
      { n: number }[]
    >`select count(*)::int as n from drizzle.__drizzle_migrations`;
    assert.equal(applied?.n, 9);
  } finally {
    await Promise.all(handles.map((h) => h.close()));
    await iso.cleanup();
  }
});
