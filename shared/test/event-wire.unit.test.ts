// The Kafka record value of an accepted event, byte for byte (envelope.ts): compact JSON with its
// keys in one order, `source` only when the event has one. The processor, the DLQ tools and any
// consumer in another language read this text, so a change to it must be deliberate.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { encodeEvent } from '@sluice/shared/events/envelope';

const event: SluiceEvent = {
  id: 'e-1',
  stream: 'ecommerce',
  tenant: 'acme',
  time: 1_764_000_000_000,
  receivedAt: 1_764_000_000_123,
  key: 'Books',
  data: { amount: 25.5, product_category: 'Books' },
};

test('an event without a source has no source key; with one, it sits after the tenant', () => {
  assert.equal(
    encodeEvent(event),
    '{"id":"e-1","stream":"ecommerce","tenant":"acme","time":1764000000000,"received_at":1764000000123,"key":"Books","data":{"amount":25.5,"product_category":"Books"}}',
  );
  assert.equal(
    encodeEvent({ ...event, source: 'shop/eu' }),
    '{"id":"e-1","stream":"ecommerce","tenant":"acme","source":"shop/eu","time":1764000000000,"received_at":1764000000123,"key":"Books","data":{"amount":25.5,"product_category":"Books"}}',
  );
});
