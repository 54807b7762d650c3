// /readyz of ingest (a unit: a fake admin and producer, no Kafka): ready only while Kafka answers
// and the producer has a client that can send. While a client broken by a fatal error is being
// replaced, every send is a 503, so a load balancer is told to send elsewhere.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admission } from '@sluice/shared/auth/admission';
import { DEFAULT_LIMITS } from '@sluice/shared/events/intake';
import { DEFAULT_MAX_RECORD_BYTES } from '@sluice/shared/events/record-size';
import { inflightLimit } from '@sluice/shared/http/inflight-limit';
import { createHttpMetrics } from '@sluice/shared/http/metrics';
import type { KafkaAdmin } from '@sluice/shared/kafka/port';
import type { RenewingProducer } from '@sluice/shared/kafka/renewing-producer';
import { createLogger } from '@sluice/shared/log';
import { ok } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { NO_SOURCES } from '@sluice/shared/webhooks/source-table';
import { createIngestApp } from '../src/app.ts';
import { createIngestMetrics } from '../src/metrics.ts';

function ingestWith(state: { reachable: boolean; replacing: boolean }) {
  const admin: KafkaAdmin = {
    ensureTopics: async () => ok(undefined),
    ping: async () => state.reachable,
    close: async () => {},
  };
  const producer: RenewingProducer = {
    get replacing() {
      return state.replacing;
    },
    send: async () => ok(undefined),
    close: async () => {},
  };
  const http = createHttpMetrics('sluice-ingest-test');
  // /readyz never admits nor counts: an admission that is never asked.
  const admission: Admission = {
    admit: () => Promise.reject(new Error('not used by /readyz')),
    countAccepted: () => Promise.reject(new Error('not used by /readyz')),
    usage: () => Promise.reject(new Error('not used by /readyz')),
    close: async () => {},
    admitNow: () => undefined,
  };
  return createIngestApp({
    log: createLogger('test', 'silent'),
    auth: { mode: 'off', verify: () => undefined },
    opsOpen: true,
    admission,
    admin,
    http,
    producer,
    streams: streamRegistry(),
    topicPrefix: 'readiness-test.',
    limits: DEFAULT_LIMITS,
    maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
    inflight: inflightLimit({ maxRequests: 8, maxBytes: 1 << 20, unknownBodyBytes: 1 << 20 }),
    metrics: createIngestMetrics(http.registry),
    sources: NO_SOURCES,
    // /readyz records no delivery.
    ledger: {
      firstSeen: () => Promise.reject(new Error('not used by /readyz')),
      forget: () => Promise.reject(new Error('not used by /readyz')),
    },
    now: Date.now,
  });
}

test('ready with Kafka reachable and a producer that can send; not while the producer is replaced', async () => {
  const state = { reachable: true, replacing: false };
  const app = ingestWith(state);
  assert.equal((await app.request('/readyz')).status, 200);

  state.replacing = true;
  const replacing = await app.request('/readyz');
  assert.equal(replacing.status, 503);
  assert.equal(replacing.headers.get('retry-after'), '1');
  const body = (await replacing.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'unavailable');
  assert.match(body.error.message, /producer is being replaced/);

  state.replacing = false;
  assert.equal((await app.request('/readyz')).status, 200);
  state.reachable = false;
  assert.equal((await app.request('/readyz')).status, 503);
});
