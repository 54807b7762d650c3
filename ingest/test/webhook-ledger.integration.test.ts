// The first-receive ledger and a failed produce (issue 22, guarantee 1): a delivery Kafka did not
// take was never accepted, so its provider's retry (Stripe's come hours later) is a first copy at
// the retry's receive time, not a "redelivery" carrying the failed attempt's time (which would be
// past the stream's allowed lateness, and so never counted). Ingest in-process with a producer
// that fails its first send and a real Redis ledger.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, test } from 'node:test';
import { createAdmission } from '@sluice/shared/auth/admission';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { DEFAULT_MAX_RECORD_BYTES } from '@sluice/shared/events/record-size';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import type { OutgoingRecord } from '@sluice/shared/kafka/port';
import type { RenewingProducer } from '@sluice/shared/kafka/renewing-producer';
import { createLogger } from '@sluice/shared/log';
import { appError, fail, ok } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { deliveryLedger } from '@sluice/shared/webhooks/delivery-ledger';
import type { SourceTable } from '@sluice/shared/webhooks/source-table';
import { Redis } from 'ioredis';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { deleteRedisKeys } from '../../shared/test/services.ts';
import { createIngestApp } from '../src/app.ts';
import { createIngestMetrics } from '../src/metrics.ts';

const prefix = `${uniqueName('whledger')}:`;
const redis = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
after(async () => {
  await redis.quit();
  await deleteRedisKeys(stackEnv().redisUrl, `${prefix}*`);
});

const SECRET = 'a-github-secret';
const SOURCE_ID = `wh_${'b'.repeat(26)}`;
const sources: SourceTable = {
  get: (id) =>
    id === SOURCE_ID
      ? {
          source: {
            id,
            tenant: 'acme',
            provider: 'github',
            secrets: [{ value: SECRET, retiresAt: null }],
            stream: 'webhooks',
            options: { toleranceSeconds: 300 },
          },
          dailyEvents: undefined,
        }
      : undefined,
  size: 1,
  close: async () => {},
};

test("a delivery whose produce failed is a first copy when retried, at the retry's time", async () => {
  const sent: OutgoingRecord[] = [];
  let now = Date.parse('2026-12-04T10:00:00Z');
  const app = ingestWith('off', () => now, sent, { failFirst: true });
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', repository: { full_name: 'octo/hello' } });
  const deliver = () =>
    app.request(`/v1/webhooks/${SOURCE_ID}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-delivery': `${prefix}d-1`,
        'x-github-event': 'ping',
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      body,
    });

  assert.equal((await deliver()).status, 503);
  // GitHub's or Stripe's retry, two hours on: past the webhooks stream's allowed lateness (1 h).
  now += 2 * 3_600_000;
  const retried = await deliver();
  assert.equal(retried.status, 200);
  assert.deepEqual(await retried.json(), { id: `${prefix}d-1`, stream: 'webhooks', redelivery: false });
  assert.equal(sent.length, 1);
  const value = JSON.parse(String(sent[0]?.value)) as { time: number };
  assert.equal(value.time, now, "the event's time is the retry's receive time");

  // A true redelivery, after the accepted copy: the first copy's time, flagged.
  now += 60_000;
  const again = await deliver();
  assert.deepEqual(await again.json(), { id: `${prefix}d-1`, stream: 'webhooks', redelivery: true });
  assert.equal((JSON.parse(String(sent[1]?.value)) as { time: number }).time, now - 60_000);
});

/** Ingest in-process with auth `mode`, the stub source, the real ledger and a producer that takes all (bar the first send, with failFirst). */
function ingestWith(
  mode: 'on' | 'off',
  now: () => number,
  sent: OutgoingRecord[],
  { failFirst = false }: { failFirst?: boolean } = {},
) {
  let failNext = failFirst;
  const producer: RenewingProducer = {
    replacing: false,
    send: async (records) => {
      if (failNext) {
        failNext = false;
        return fail(appError('unavailable', 'Kafka is away', { retryAfterSeconds: 1 }));
      }
      sent.push(...records);
      return ok(undefined);
    },
    close: async () => {},
  };
  const http = createHttpMetrics('sluice-ingest-test');
  return createIngestApp({
    log: createLogger('test', 'silent'),
    auth: { mode, verify: () => undefined },
    opsOpen: true,
    admission: createAdmission(redis, { prefix }),
    admin: { ensureTopics: async () => ok(undefined), ping: async () => true, close: async () => {} },
    http,
    producer,
    streams: streamRegistry(),
    topicPrefix: prefix,
    limits: DEFAULT_LIMITS,
    maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
    inflight: inflightLimit({ maxRequests: 8, maxBytes: 1 << 20, unknownBodyBytes: 1 << 20 }),
    metrics: createIngestMetrics(http.registry),
    sources,
    ledger: deliveryLedger(redis, { prefix }),
    now,
  });
}

const signedDelivery = (id: string, body: string) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'x-github-delivery': id,
    'x-github-event': 'ping',
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
  },
  body,
});

test("a refused delivery (400) is forgotten too: its fixed retry is a first copy at the retry's time", async () => {
  const sent: OutgoingRecord[] = [];
  let now = Date.parse('2026-12-04T12:00:00Z');
  const app = ingestWith('off', () => now, sent);
  const id = `${prefix}d-refused`;
  // Signed, but text PostgreSQL cannot store: a 400 after the ledger recorded it.
  const refused = await app.request(`/v1/webhooks/${SOURCE_ID}`, signedDelivery(id, '{"zen":"a\\u0000b"}'));
  assert.equal(refused.status, 400);
  now += 2 * 3_600_000;
  const fixed = await app.request(`/v1/webhooks/${SOURCE_ID}`, signedDelivery(id, '{"zen":"ab"}'));
  assert.deepEqual(await fixed.json(), { id, stream: 'webhooks', redelivery: false });
  assert.equal((JSON.parse(String(sent[0]?.value)) as { time: number }).time, now);
});

test('with auth off, no one learns a source and its secrets from ingest (404); with auth on, only a relay key', async () => {
  const off = ingestWith('off', Date.now, []);
  const asked = await off.request(`/v1/webhooks/sources/${SOURCE_ID}`);
  assert.equal(asked.status, 404);
  assert.ok(!(await asked.text()).includes(SECRET));
  const on = ingestWith('on', Date.now, []);
  assert.equal((await on.request(`/v1/webhooks/sources/${SOURCE_ID}`)).status, 401);
});
