// The fallback of dropDatabase on a real PostgreSQL: with the forced drop refused (as an
// autovacuum worker makes PostgreSQL 15 refuse it), our own open sessions are ended and the plain
// drop removes the database.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { dropDatabase } from './drop-database.ts';
import { stackEnv, uniqueName } from './harness.ts';

test('refused the forced drop, the database still goes, our sessions in it ended', async () => {
  const admin = postgres(stackEnv().databaseUrl, { max: 1, onnotice: () => {} });
  const name = uniqueName('dropfallback')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(stackEnv().databaseUrl);
  url.pathname = `/${name}`;
  const session = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await session`select 1`;
    const refusing = {
      unsafe(query: string, parameters?: string[]) {
        if (query.includes('WITH (FORCE)'))
          return Promise.reject(
            Object.assign(new Error('refused as for an autovacuum worker'), { code: '42501' }),
          );
        return admin.unsafe(query, parameters);
      },
    };
    await dropDatabase(refusing, name);
    const left = await admin`select 1 from pg_database where datname = ${name}`;
    assert.equal(left.length, 0);
  } finally {
    await session.end({ timeout: 1 }).catch(() => {});
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
});
