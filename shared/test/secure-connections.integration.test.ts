// The services' clients against the local stack's secured endpoints (deploy/local/lib/tls.sh), as
// they would meet a managed Kafka, PostgreSQL and Redis (issue 26):
// - Kafka SASL_SSL: both adapters authenticate with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 and check
//   the broker's certificate against the given CA; a wrong password or an untrusted CA gets nowhere;
// - PostgreSQL `sslmode=verify-full&sslrootcert=`: the session is encrypted (pg_stat_ssl), and
//   without the CA the server's certificate is refused;
// - Redis over TLS with an ACL user: in as that user; a wrong password or no CA is refused.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDb } from '@sluice/shared/db/client';
import { kafkaClients } from '@sluice/shared/kafka/clients';
import type { KafkaClientName } from '@sluice/shared/kafka/options';
import type { KafkaSaslMechanism, KafkaSecurity } from '@sluice/shared/kafka/security';
import { createRedis } from '@sluice/shared/redis/client';
import { stackEnv } from './harness.ts';

const stack = stackEnv();
const required = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run through ./sluice test`);
  return value;
};
const CA = required('SLUICE_TLS_CA_FILE');
const BROKERS = [required('SLUICE_SECURE_KAFKA_BROKERS')];
const USER = required('SLUICE_SECURE_KAFKA_USERNAME');
const PASSWORD = required('SLUICE_SECURE_KAFKA_PASSWORD');
const REDIS_URL = required('SLUICE_SECURE_REDIS_URL');

const sasl = (
  mechanism: KafkaSaslMechanism,
  password = PASSWORD,
  ca: 'stack' | 'system' = 'stack',
): KafkaSecurity => ({
  protocol: 'SASL_SSL',
  sasl: { mechanism, username: USER, password },
  ...(ca === 'stack' ? { caFile: CA } : {}),
});

async function reaches(client: KafkaClientName, security: KafkaSecurity): Promise<boolean> {
  const admin = await (await kafkaClients(client)).admin({
    brokers: BROKERS,
    clientId: 'secure-test',
    security,
  });
  try {
    return await admin.ping(8_000);
  } finally {
    await admin.close();
  }
}

for (const client of ['platformatic', 'confluent'] as const) {
  test(`kafka (${client}): SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 against the stack's CA`, async () => {
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const)
      assert.equal(await reaches(client, sasl(mechanism)), true, mechanism);
  });

  test(`kafka (${client}): a wrong password or an untrusted certificate gets no answer`, async () => {
    assert.equal(await reaches(client, sasl('SCRAM-SHA-512', `${PASSWORD}x`)), false);
    // No CA given: the system's roots, which do not sign the stack's certificate.
    assert.equal(await reaches(client, sasl('SCRAM-SHA-512', PASSWORD, 'system')), false);
  });
}

test('postgres: verify-full with the CA is an encrypted session; without the CA it is refused', async () => {
  const url = new URL(stack.databaseUrl);
  url.searchParams.set('sslmode', 'verify-full');
  url.searchParams.set('sslrootcert', CA);
  const db = createDb({ url: url.toString(), maxConnections: 1 });
  try {
    const [row] = await db.sql<{ ssl: boolean; version: string }[]>`
      select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`;
    assert.equal(row?.ssl, true);
    assert.match(row?.version ?? '', /^TLSv1\.[23]$/);
  } finally {
    await db.close();
  }
  url.searchParams.delete('sslrootcert');
  const untrusted = createDb({ url: url.toString(), maxConnections: 1 });
  try {
    await assert.rejects(untrusted.sql`select 1`, /self[- ]signed|unable to (get|verify)/i);
  } finally {
    await untrusted.close();
  }
});

test('redis: TLS with the ACL user; a wrong password or no CA is refused', async () => {
  const quiet = { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true };
  const redis = createRedis(REDIS_URL, quiet, CA);
  redis.on('error', () => {});
  try {
    await redis.connect();
    assert.equal(await redis.call('ACL', 'WHOAMI'), USER);
  } finally {
    redis.disconnect();
  }
  const wrong = new URL(REDIS_URL);
  wrong.password = 'wrong';
  const denied = createRedis(wrong.toString(), quiet, CA);
  const deniedWith: string[] = [];
  denied.on('error', (error: Error) => deniedWith.push(error.message));
  await assert.rejects(denied.connect());
  denied.disconnect();
  assert.match(deniedWith.join('\n'), /WRONGPASS/);
  const untrusted = createRedis(REDIS_URL, quiet);
  const untrustedWith: string[] = [];
  untrusted.on('error', (error: Error) => untrustedWith.push(error.message));
  await assert.rejects(untrusted.connect());
  untrusted.disconnect();
  assert.match(untrustedWith.join('\n'), /self[- ]signed|unable to (get|verify)/i);
});
