// Guarantee 1 under a broker outage: with Kafka stopped, ingest answers 503 with Retry-After (and
// /readyz says not ready) instead of acknowledging what is not durable; once Kafka is back, every
// event that got a 202 is in the topic. On each Kafka adapter.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { ErrorEnvelope } from '@sluice/shared/http/error-envelope';
import { KAFKA_CLIENTS } from '@sluice/shared/kafka/options';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, uniqueName, waitFor } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { ROOT } from '../../shared/test/services.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import type { InProcessIngest } from './in-process.ts';
import { inProcessIngest } from './in-process.ts';

const run = promisify(execFile);
const sluice = (...args: string[]) =>
  run(`${ROOT}sluice`, args, { timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } });
const env = stackEnv();
const random = seededRandom(11);
let n = 0;
const batch = (size: number) =>
  Array.from({ length: size }, () =>
    envelope(makeTransaction(random, `outage-${n++}`, Date.parse('2026-02-02T00:00:00Z') + n)),
  );

async function post(app: InProcessIngest['app'], events: unknown[]) {
  const response = await app.request('/v1/events', {
    method: 'POST',
    body: JSON.stringify(events),
    headers: { 'content-type': 'application/json' },
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    json: (await response.json()) as { ids?: string[] } & Partial<ErrorEnvelope>,
  };
}

for (const client of KAFKA_CLIENTS) {
  describe(`ingest on the ${client} adapter`, () => {
    let ingest: InProcessIngest;
    let app: InProcessIngest['app'];
    const prefix = `${uniqueName(`outage-${client}`)}.`;

    before(async () => {
      ingest = await inProcessIngest({ prefix, deliveryTimeoutMs: 3_000, client });
      app = ingest.app;
    });

    after(async () => {
      // Whatever happened, leave the broker running for the tests after this one.
      await sluice('stack', 'start', 'kafka');
      await ingest.close();
    });

    test('Kafka down: 503 + Retry-After, not ready; back: 202 again and every acked event is in the topic', {
      timeout: 240_000,
    }, async () => {
      const acked: string[] = [];
      const before = await post(app, batch(20));
      assert.equal(before.status, 202);
      acked.push(...(before.json.ids ?? []));

      await sluice('stack', 'stop', 'kafka');
      const during = await post(app, batch(20));
      assert.equal(during.status, 503);
      assert.equal(during.json.error?.code, 'unavailable');
      assert.ok(Number(during.retryAfter) >= 1, 'Retry-After tells the client when to come back');
      assert.equal((await app.request('/readyz')).status, 503);

      await sluice('stack', 'start', 'kafka');
      await waitFor(async () => ((await app.request('/readyz')).status === 200 ? true : undefined), {
        timeoutMs: 90_000,
        intervalMs: 1_000,
        what: 'ingest ready again',
      });
      const afterOutage = await waitFor(
        async () => {
          const res = await post(app, batch(20));
          return res.status === 202 ? res : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1_000, what: '202 after the outage' },
      );
      acked.push(...(afterOutage.json.ids ?? []));

      const records = await readTopic(
        env.kafkaBrokers,
        topicNames('ecommerce', prefix).events,
        acked.length,
        60_000,
      );
      const inTopic = new Set(records.map((r) => (JSON.parse(r.value) as { id: string }).id));
      const lost = acked.filter((id) => !inTopic.has(id));
      assert.deepEqual(lost, [], 'no acknowledged event is lost');
    });
  });
}
