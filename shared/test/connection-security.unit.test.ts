// How the managed-service settings are read (issue 26): the SLUICE_KAFKA_* security variables are
// checked together (a SASL protocol without its credentials, credentials or a CA a protocol would
// not use, a CA file that is not there), map one to one onto librdkafka's and platformatic's own
// options, and a PostgreSQL URL's libpq TLS parameters become postgres.js's TLS options.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@sluice/shared/config';
import { checkKafkaSecurity, kafkaSecurityEnv, kafkaSecurityOf } from '@sluice/shared/connection-config';
import { postgresConnection } from '@sluice/shared/db/tls';
import { librdkafkaSecurity, platformaticSecurity } from '@sluice/shared/kafka/security';
import { z } from 'zod';

const schema = z.object(kafkaSecurityEnv).superRefine(checkKafkaSecurity).transform(kafkaSecurityOf);
const PEM = fileURLToPath(new URL('./fixtures/test-ca.pem', import.meta.url));

test('plaintext unless set', () => {
  assert.deepEqual(parseConfig(schema, {}), { ok: true, value: { protocol: 'PLAINTEXT' } });
});

test('SASL_SSL with SCRAM and a CA file maps onto both clients', () => {
  const parsed = parseConfig(schema, {
    SLUICE_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    SLUICE_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    SLUICE_KAFKA_SASL_USERNAME: 'u',
    SLUICE_KAFKA_SASL_PASSWORD: 'p',
    SLUICE_KAFKA_CA_FILE: PEM,
  });
  assert.ok(parsed.ok);
  assert.deepEqual(librdkafkaSecurity(parsed.value), {
    'security.protocol': 'sasl_ssl',
    'ssl.ca.location': PEM,
    'ssl.endpoint.identification.algorithm': 'https',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': 'u',
    'sasl.password': 'p',
  });
  const platformatic = platformaticSecurity(parsed.value);
  assert.deepEqual(platformatic.sasl, { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' });
  assert.match(String(platformatic.tls?.ca), /BEGIN CERTIFICATE/);
});

test('every inconsistent setting is named at start', () => {
  const missing = parseConfig(schema, { SLUICE_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' });
  assert.equal(missing.ok, false);
  assert.deepEqual(!missing.ok && missing.error.map((e) => e.split(':')[0]), [
    'SLUICE_KAFKA_SASL_MECHANISM',
    'SLUICE_KAFKA_SASL_USERNAME',
    'SLUICE_KAFKA_SASL_PASSWORD',
  ]);
  const unused = parseConfig(schema, {
    SLUICE_KAFKA_SASL_PASSWORD: 'p',
    SLUICE_KAFKA_CA_FILE: '/no/such/ca.pem',
  });
  assert.equal(unused.ok, false);
  const problems = unused.ok ? [] : unused.error;
  assert.ok(problems.some((p) => p.startsWith('SLUICE_KAFKA_SASL_PASSWORD') && p.includes('uses no SASL')));
  assert.ok(problems.some((p) => p.startsWith('SLUICE_KAFKA_CA_FILE') && p.includes('uses no TLS')));
  assert.ok(problems.some((p) => p.startsWith('SLUICE_KAFKA_CA_FILE') && p.includes('no such file')));
});

test("postgres: libpq's sslmode and sslrootcert become TLS options, the rest of the URL stays", () => {
  assert.deepEqual(postgresConnection('postgres://u:p@db:5432/x'), { url: 'postgres://u:p@db:5432/x' });
  assert.deepEqual(postgresConnection('postgres://u:p@db:5432/x?sslmode=require'), {
    url: 'postgres://u:p@db:5432/x?sslmode=require',
  });
  const full = postgresConnection(
    `postgres://u:p@db:5432/x?sslmode=verify-full&sslrootcert=${PEM}&options=-c`,
  );
  assert.equal(full.url, 'postgres://u:p@db:5432/x?options=-c');
  assert.ok(typeof full.ssl === 'object');
  assert.equal(typeof full.ssl === 'object' && full.ssl.rejectUnauthorized, true);
  assert.match(String(typeof full.ssl === 'object' && full.ssl.ca), /BEGIN CERTIFICATE/);
  // verify-full checks the name (Node's default); verify-ca leaves it out, as libpq does.
  assert.equal(typeof full.ssl === 'object' && full.ssl.checkServerIdentity, undefined);
  const ca = postgresConnection('postgres://u:p@db/x?sslmode=verify-ca&sslrootcert=system');
  assert.equal(typeof ca.ssl === 'object' && typeof ca.ssl.checkServerIdentity, 'function');
  assert.equal(typeof ca.ssl === 'object' && ca.ssl.ca, undefined);
});
