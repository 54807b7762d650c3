// Guarantee 5 at ingest: when the producer's bounded queue is full, a request is refused with 503
// and Retry-After (the one error envelope) instead of buffering without bound or acknowledging what
// Kafka did not take; once the queue drains, the same events are accepted. On each Kafka adapter.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ErrorEnvelope } from '@sluice/shared/http/error-envelope';
import { KAFKA_CLIENTS } from '@sluice/shared/kafka/options';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import type { InProcessIngest } from './in-process.ts';
import { inProcessIngest } from './in-process.ts';

const random = seededRandom(21);
const events = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    envelope(makeTransaction(random, `overload-${from + i}`, Date.parse('2026-02-03T00:00:00Z') + i)),
  );

async function post(app: InProcessIngest['app'], body: unknown[]) {
  const response = await app.request('/v1/events', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { response, json: (await response.json()) as { accepted?: number } & Partial<ErrorEnvelope> };
}

for (const client of KAFKA_CLIENTS) {
  describe(`ingest on the ${client} adapter`, () => {
    const prefix = `${uniqueName(`overload-${client}`)}.`;
    let ingest: InProcessIngest;

    before(async () => {
      // A queue of 50 records: a request of 200 events cannot fit in it.
      ingest = await inProcessIngest({ prefix, deliveryTimeoutMs: 5_000, maxQueuedRecords: 50, client });
    });

    after(async () => {
      await ingest.close();
    });

    test('a full producer queue is a 503 with Retry-After; a request that fits is then accepted', async () => {
      const big = events(0, 200);
      const refused = await post(ingest.app, big);
      assert.equal(refused.response.status, 503);
      assert.equal(refused.response.headers.get('retry-after'), '1');
      assert.equal(refused.json.error?.code, 'unavailable');
      assert.match(refused.json.error?.message ?? '', /queue is full/);

      const small = events(1_000, 40);
      const accepted = await post(ingest.app, small);
      assert.equal(accepted.response.status, 202, JSON.stringify(accepted.json));
      assert.equal(accepted.json.accepted, 40);
      // Every acknowledged event is in Kafka (what the refused request handed over may be too: its
      // retry carries the same ids, which the processor recognises).
      // Up to 50 + 40 records: wait for all that can be there, not just the first 40.
      const records = await readTopic(
        stackEnv().kafkaBrokers,
        topicNames('ecommerce', prefix).events,
        90,
        5_000,
      );
      const ids = new Set(records.map((r) => (JSON.parse(r.value) as { id: string }).id));
      for (const event of small) assert.ok(ids.has(event.data.transaction_id), event.data.transaction_id);
    });
  });
}
