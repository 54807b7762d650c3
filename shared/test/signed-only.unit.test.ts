// The `webhooks` stream counts verified deliveries only (issue 22): POST /v1/events (validateItem
// without `signed`) refuses it whatever the key, while a verified delivery (to-event.ts) lands.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamRegistry } from '@sluice/shared/streams/registry';
import type { WebhookSource } from '@sluice/shared/webhooks/source';
import { deliveryToEvent } from '@sluice/shared/webhooks/to-event';
import { NOW, verdictOf } from './verdict.ts';

const forged = {
  stream: 'webhooks',
  id: 'forged-1',
  data: { provider: 'github', type: 'push', account: 'octo/hello', delivery_id: 'forged-1', payload: {} },
};

test('an unsigned event for the webhooks stream is refused at intake', () => {
  const verdict = verdictOf(forged);
  assert.equal(verdict.ok, false);
  if (verdict.ok) return;
  assert.deepEqual(
    verdict.rejection.errors.map((e) => e.path),
    ['stream'],
  );
  assert.match(verdict.rejection.errors[0]?.message ?? '', /signed webhook deliveries only/);
});

test('a verified delivery is an event of the webhooks stream, for its source tenant', () => {
  const source: WebhookSource = {
    id: 'wh_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    tenant: 'acme',
    provider: 'github',
    secrets: [{ value: 'a-secret-of-ours', retiresAt: null }],
    stream: 'webhooks',
    options: { toleranceSeconds: 300 },
  };
  const delivery = { id: 'd-1', type: 'push', account: 'octo/hello', payload: { ref: 'main' } };
  const verdict = deliveryToEvent(source, delivery, 100, {
    registry: streamRegistry(),
    firstSeenMs: NOW - 5_000,
    now: NOW,
    maxEventBytes: 1 << 20,
    maxDepth: 32,
  });
  assert.equal(verdict.ok, true);
  if (!verdict.ok) return;
  assert.equal(verdict.event.tenant, 'acme');
  assert.equal(verdict.event.time, NOW - 5_000);
  assert.equal(verdict.event.source, `webhook:${source.id}`);
  assert.deepEqual(verdict.event.data, {
    provider: 'github',
    type: 'push',
    account: 'octo/hello',
    delivery_id: 'd-1',
    payload: { ref: 'main' },
  });
});
