// The pipeline end to end against the local stack's secured endpoints, configured only through the
// environment variables a managed deployment sets (issue 26, docs/DEPLOY.md): Kafka over SASL_SSL
// with SCRAM-SHA-512 and the stack's CA, PostgreSQL with sslmode=verify-full, and the processor's
// and query's Redis over TLS as an ACL user. Known events go in at ingest; the query API must show
// every window settled with exactly the aggregates computed here, and every PostgreSQL session the
// services opened must be encrypted.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRedis, scanKeys } from '@sluice/shared/redis/client';
import postgres from 'postgres';
import { waitFor } from '../../shared/test/harness.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import { expectedWindows, mismatch } from './expected.ts';

const BASE = Date.parse('2026-04-01T12:00:00.000Z');
const MINUTES = 3;
const EVENTS = 300;

const required = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run through ./sluice test`);
  return value;
};
const CA = required('SLUICE_TLS_CA_FILE');

let iso: Isolation;
const services: ServiceHandle[] = [];
let ingest: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  iso = await isolate('secured');
  const database = new URL(iso.databaseUrl);
  database.searchParams.set('sslmode', 'verify-full');
  database.searchParams.set('sslrootcert', CA);
  const env = {
    ...iso.env,
    SLUICE_KAFKA_BROKERS: required('SLUICE_SECURE_KAFKA_BROKERS'),
    SLUICE_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    SLUICE_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    SLUICE_KAFKA_SASL_USERNAME: required('SLUICE_SECURE_KAFKA_USERNAME'),
    SLUICE_KAFKA_SASL_PASSWORD: required('SLUICE_SECURE_KAFKA_PASSWORD'),
    SLUICE_KAFKA_CA_FILE: CA,
    SLUICE_DATABASE_URL: database.toString(),
    SLUICE_REDIS_URL: required('SLUICE_SECURE_REDIS_URL'),
    SLUICE_CACHE_REDIS_URL: required('SLUICE_SECURE_REDIS_URL'),
    SLUICE_REDIS_CA_FILE: CA,
    SLUICE_IDLE_TIMEOUT_MS: '4000',
    SLUICE_TICK_MS: '250',
  };
  ingest = await startService('ingest', env);
  services.push(ingest);
  services.push(await startService('processor', env));
  query = await startService('query', env);
  services.push(query);
});

after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  // The test's keys live in the secured Redis, which iso.cleanup does not reach.
  const redis = createRedis(required('SLUICE_SECURE_REDIS_URL'), {}, CA);
  try {
    for await (const keys of scanKeys(redis, `${iso.env.SLUICE_CACHE_PREFIX ?? 'none:'}*`))
      await redis.unlink(...keys);
  } finally {
    await redis.quit();
  }
  await iso.cleanup();
});

test('events through SASL_SSL Kafka, TLS PostgreSQL and TLS Redis settle into exact windows', {
  timeout: 180_000,
}, async () => {
  const random = seededRandom(26);
  const sent = Array.from({ length: EVENTS }, (_, i) =>
    makeTransaction(random, `secured-${i}`, BASE + Math.floor((i / EVENTS) * MINUTES * 60_000)),
  );
  for (let i = 0; i < sent.length; i += 100) {
    const response = await fetch(`${ingest.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sent.slice(i, i + 100).map(envelope)),
    });
    const body = (await response.json()) as { accepted: number };
    assert.equal(response.status, 202);
    assert.equal(body.accepted, Math.min(100, sent.length - i));
  }

  const expected = expectedWindows(sent);
  const from = new Date(BASE).toISOString();
  const to = new Date(BASE + (MINUTES + 1) * 60_000).toISOString();
  type Row = Parameters<typeof mismatch>[0];
  const rows = await waitFor(
    async () => {
      const exited = services.filter(
        (svc) => svc.output().includes('"level":50') || svc.output().includes('rror:'),
      );
      if (exited.length > 0)
        throw new Error(exited.map((svc) => `--- ${svc.name} ---\n${svc.output().slice(-3000)}`).join('\n'));
      const response = await fetch(
        `${query.url}/v1/streams/ecommerce/windows?from=${from}&to=${to}&limit=1000`,
      );
      if (response.status !== 200) return undefined;
      const { data } = (await response.json()) as { data: Row[] };
      return data.filter((r) => r.status === 'settled').length === expected.size ? data : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `${expected.size} settled windows` },
  );
  for (const row of rows) {
    const want = expected.get(`${Date.parse(row.window_start)}|${row.key}`);
    assert.ok(want, `unexpected window ${row.window_start} ${row.key}`);
    assert.equal(mismatch(row, want), undefined);
  }

  // Every session the services hold on the test's database is encrypted.
  const admin = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const sessions = await admin<{ app: string; ssl: boolean }[]>`
      select a.application_name as app, s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid)
      where a.datname = current_database() and a.pid <> pg_backend_pid()`;
    const apps = new Set(sessions.map((s) => s.app));
    assert.ok(apps.has('sluice-processor') && apps.has('sluice-query'), [...apps].join(', '));
    assert.deepEqual(
      sessions.filter((s) => !s.ssl),
      [],
    );
  } finally {
    await admin.end();
  }
});
