// PostgreSQL reads run under a statement timeout (guarantee 5): the query service's pool sets
// `statement_timeout` on every session, and a read past it is a 503 with Retry-After in the one
// envelope (the same read may succeed shortly), never a 500 and never a connection held for ever.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { QueryHarness } from './in-process.ts';
import { startQuery } from './in-process.ts';

let h: QueryHarness;
/** Set by a test: the app's reads of windows first sleep this long in PostgreSQL. */
let sleepSeconds = 0;

before(async () => {
  h = await startQuery('stmttimeout', {
    statementTimeoutMs: 200,
    // The test hook: a slow read, made slow inside PostgreSQL where the timeout applies.
    wrapRepo: (repo, db) => ({
      ...repo,
      async windows(q) {
        if (sleepSeconds > 0) await db.db.execute(sql`select pg_sleep(${sleepSeconds})`);
        return repo.windows(q);
      },
    }),
  });
});

after(() => h.close());

test('the setting reaches every session of the pool', async () => {
  const rows = await Promise.all(Array.from({ length: 4 }, () => h.db.sql`show statement_timeout`));
  for (const r of rows) assert.equal(r[0]?.statement_timeout, '200ms');
});

test('statement timeout: a read past it is a 503 with Retry-After, not a 500; the next fast read is a 200', async () => {
  sleepSeconds = 2;
  const started = Date.now();
  const slow = await h.app.request('/v1/streams/ecommerce/windows?from=-1h&to=now');
  const took = Date.now() - started;
  const text = await slow.text();
  assert.equal(slow.status, 503, text);
  assert.ok(Number(slow.headers.get('retry-after')) >= 1);
  const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
  assert.equal(body.error.code, 'unavailable');
  assert.match(body.error.message, /statement timeout/);
  assert.ok(took < 1_500, `canceled after the timeout, not after the sleep (${took} ms)`);

  sleepSeconds = 2;
  const top = await h.app.request('/v1/streams/ecommerce/top?from=-2h&to=now');
  // /top reads through the same repository: the same answer.
  assert.equal(top.status, 503);

  sleepSeconds = 0;
  const fast = await h.app.request('/v1/streams/ecommerce/windows?from=-3h&to=now');
  assert.equal(fast.status, 200);
});
