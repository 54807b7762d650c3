// What the auth tests of ingest and the edge share: their keys (created in the isolation's
// database, as `./sluice keys create` does), events with unique ids, a POST, and what Kafka holds.

import assert from 'node:assert/strict';
import { generateKey } from '@sluice/shared/auth/api-key';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { bearer, createTestKey, revokeTestKey } from '../../shared/test/keys.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

export interface TestKeys {
  /** events:write of tenant acme. */
  readonly write: CreatedKey;
  readonly read: CreatedKey;
  readonly admin: CreatedKey;
  /** events:write, expired a minute ago. */
  readonly expired: CreatedKey;
  /** events:write, revoked before the services start. */
  readonly revoked: CreatedKey;
  /** events:write at 50 events per second (one second of burst). */
  readonly limited: CreatedKey;
  /** events:relay: the edge's own key. */
  readonly relay: CreatedKey;
  /** events:write, revoked by the revocation test. */
  readonly doomed: CreatedKey;
}

export const TENANT = 'acme';
export const OTHER_TENANT = 'globex';

export async function createKeys(databaseUrl: string): Promise<TestKeys> {
  const write = (extra = {}) =>
    createTestKey(databaseUrl, { tenant: TENANT, scopes: ['events:write'], ...extra });
  const keys: TestKeys = {
    write: await write(),
    read: await createTestKey(databaseUrl, { tenant: TENANT, scopes: ['windows:read'] }),
    admin: await createTestKey(databaseUrl, { tenant: TENANT, scopes: ['admin'] }),
    expired: await write({ expiresAt: new Date(Date.now() - 60_000) }),
    revoked: await write(),
    limited: await write({ eventsPerSecond: 50 }),
    relay: await createTestKey(databaseUrl, { tenant: 'sluice-edge', scopes: ['events:relay'] }),
    doomed: await write(),
  };
  await revokeTestKey(databaseUrl, keys.revoked.id);
  return keys;
}

/** Every key's secret, for the check that none is ever printed. */
export const secretsOf = (keys: TestKeys): string[] => Object.values(keys).map((k: CreatedKey) => k.key);

/** Authorization headers every service must answer 401. */
export function unauthorizedHeaders(keys: TestKeys): [string, Record<string, string>][] {
  return [
    ['no header', {}],
    ['not Bearer', { authorization: `Basic ${btoa(`x:${keys.write.key}`)}` }],
    ['malformed key', { authorization: 'Bearer slk_not-a-key' }],
    ['unknown key', bearer(generateKey().key)],
    ['expired key', bearer(keys.expired.key)],
    ['revoked key', bearer(keys.revoked.key)],
  ];
}

const random = seededRandom(21);
let n = 0;

/** `count` ecommerce events with fresh ids (the id is the transaction id), `extra` on each envelope. */
export function events(count: number, tag: string, extra: Record<string, unknown> = {}) {
  const run = uniqueName(tag);
  return Array.from({ length: count }, () => ({
    stream: 'ecommerce',
    ...extra,
    data: makeTransaction(random, `${run}-${n++}`, Date.now() - 60_000),
  }));
}

export const idOf = (event: { data: { transaction_id: string } }) => event.data.transaction_id;

export interface Posted {
  readonly status: number;
  readonly headers: Headers;
  readonly json: {
    accepted?: number;
    ids?: string[];
    rejected?: { index: number; errors: { path: string; message: string }[] }[];
    error?: { code: string; message: string; details?: unknown };
  };
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  path = '/v1/events',
): Promise<Posted> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Posted['json'],
  };
}

export function assertUnauthorized(res: Posted, what: string): void {
  assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.json)}`);
  assert.equal(res.json.error?.code, 'unauthorized', what);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, what);
}

export function assertForbidden(res: Posted, what: string): void {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.json)}`);
  assert.equal(res.json.error?.code, 'forbidden', what);
}

/** The ecommerce topic's records by event id: how many times each is there, and its tenants. */
export async function kafkaById(
  topicPrefix: string,
  expected: number,
): Promise<Map<string, { count: number; tenants: string[] }>> {
  const records = await readTopic(
    stackEnv().kafkaBrokers,
    topicNames('ecommerce', topicPrefix).events,
    expected,
  );
  const byId = new Map<string, { count: number; tenants: string[] }>();
  for (const record of records) {
    const value = JSON.parse(record.value) as { id: string; tenant: string };
    const seen = byId.get(value.id) ?? { count: 0, tenants: [] };
    seen.count += 1;
    seen.tenants.push(value.tenant);
    byId.set(value.id, seen);
  }
  return byId;
}

/**
 * Bursts of concurrent requests with one rate-limited key: some get 429, some 202. Returns the ids
 * of the 202s and of the 429s (after asserting each 429 and 202 carries the headers it must).
 */
export async function burst(
  url: string,
  key: string,
  tag: string,
): Promise<{ acked: string[]; refused: string[] }> {
  const acked: string[] = [];
  const refused: string[] = [];
  for (let round = 0; round < 3; round += 1) {
    const batches = Array.from({ length: 8 }, () => events(20, tag));
    const answers = await Promise.all(batches.map((batch) => post(url, batch, bearer(key))));
    answers.forEach((res, i) => {
      const ids = (batches[i] ?? []).map(idOf);
      assert.match(res.headers.get('ratelimit-policy') ?? '', /"events";q=50;w=1/, `round ${round}`);
      assert.match(res.headers.get('ratelimit') ?? '', /"events";r=\d+;t=\d+/);
      if (res.status === 202) {
        assert.deepEqual(res.json.ids, ids);
        acked.push(...ids);
      } else {
        assert.equal(res.status, 429, JSON.stringify(res.json));
        assert.equal(res.json.error?.code, 'rate_limited');
        assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After on a 429');
        refused.push(...ids);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  assert.ok(acked.length > 0, 'some requests were admitted');
  assert.ok(refused.length > 0, 'some requests were refused');
  return { acked, refused };
}
