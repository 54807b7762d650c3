// A test database is dropped even while an autovacuum worker is in it. PostgreSQL 15's
// DROP DATABASE ... WITH (FORCE) refuses a role without pg_signal_backend when any backend in the
// database is another role's, and an autovacuum worker has no role: the drop fails with 42501
// (seen in CI: "must be a member of the role whose process is being terminated"). A plain DROP
// DATABASE stops autovacuum workers itself.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DropClient, dropDatabase } from './drop-database.ts';

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function client(failForce: Error | undefined): DropClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async unsafe(query) {
      calls.push(query);
      if (failForce !== undefined && query.includes('WITH (FORCE)')) throw failForce;
      return [];
    },
  };
}

test('the forced drop is enough when it succeeds', async () => {
  const admin = client(undefined);
  await dropDatabase(admin, 't1');
  assert.deepEqual(admin.calls, ['DROP DATABASE IF EXISTS "t1" WITH (FORCE)']);
});

test('refused for a backend without our role (an autovacuum worker): our sessions ended, then a plain drop', async () => {
  const admin = client(pgError('42501', 'must be a member of the role whose process is being terminated'));
  await dropDatabase(admin, 't2');
  assert.equal(admin.calls.length, 3);
  assert.match(admin.calls[1] ?? '', /pg_terminate_backend/);
  assert.equal(admin.calls[2], 'DROP DATABASE IF EXISTS "t2"');
});

test("any other failure is the caller's", async () => {
  const admin = client(pgError('55006', 'database is being accessed by other users'));
  await assert.rejects(dropDatabase(admin, 't3'), /accessed by other users/);
  assert.equal(admin.calls.length, 1);
});
