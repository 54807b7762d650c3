// The tenant comes from the key (issue 21, item 3), per event: an `events:write` key's events get
// its tenant or are refused for naming another; the whole request is a 403 only when every event
// was refused and one of them for its tenant. A relay (the edge) and auth off keep the body's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEvents } from '@sluice/shared/events/intake';
import type { TenantRule } from '@sluice/shared/events/validate';
import { TENANT_REFUSED } from '@sluice/shared/events/validate';
import type { AppError } from '@sluice/shared/result';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { ecommerceEvent, NOW } from './verdict.ts';

const LIMITS = { maxRequestBytes: 1 << 20, maxEventBytes: 1 << 16, maxEvents: 100, maxDepth: 32 };
const KEY_ACME: TenantRule = { from: 'key', tenant: 'acme' };

const cloudEvent = (id: string, tenant?: string) => ({
  specversion: '1.0',
  id,
  type: 'ecommerce',
  source: 'test',
  ...(tenant === undefined ? {} : { tenant }),
  data: ecommerceEvent({ transaction_id: id }).data,
});

function read(events: unknown[], rule?: TenantRule) {
  const request = new Request('http://test/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  return readEvents(request, streamRegistry(), LIMITS, NOW, rule);
}

function errorOf(result: { ok: true } | { ok: false; error: AppError }): AppError {
  if (result.ok) assert.fail('expected the request refused');
  return result.error;
}

test('a key-bound event without tenant gets the key tenant; its own tenant named is accepted', async () => {
  const result = await read(
    [ecommerceEvent({ transaction_id: 'a' }), ecommerceEvent({ transaction_id: 'b' }, { tenant: 'acme' })],
    KEY_ACME,
  );
  assert.ok(result.ok);
  assert.deepEqual(
    result.value.accepted.map((e) => e.tenant),
    ['acme', 'acme'],
  );
  assert.deepEqual(result.value.rejected, []);
});

test('an event naming another tenant is refused per event; its neighbours are accepted', async () => {
  const result = await read(
    [
      ecommerceEvent({ transaction_id: 'a' }),
      ecommerceEvent({ transaction_id: 'b' }, { tenant: 'globex' }),
      cloudEvent('c', 'globex'),
      cloudEvent('d'),
    ],
    KEY_ACME,
  );
  assert.ok(result.ok);
  assert.deepEqual(
    result.value.accepted.map((e) => [e.id, e.tenant]),
    [
      ['a', 'acme'],
      ['d', 'acme'],
    ],
  );
  assert.deepEqual(
    result.value.rejected.map((r) => [r.index, r.errors]),
    [
      [1, [TENANT_REFUSED]],
      [2, [TENANT_REFUSED]],
    ],
  );
});

test('every event refused, one of them for its tenant: 403 forbidden with the per-event errors', async () => {
  const error = errorOf(
    await read([cloudEvent('c', 'globex'), ecommerceEvent({ amount: 'lots' }, { tenant: 'acme' })], KEY_ACME),
  );
  assert.equal(error.code, 'forbidden');
  const details = error.details as { accepted: number; rejected: { index: number; errors: unknown[] }[] };
  assert.equal(details.accepted, 0);
  assert.deepEqual(details.rejected[0]?.errors, [TENANT_REFUSED]);
  assert.equal(details.rejected[1]?.index, 1);
});

test('every event refused, none for its tenant: still 400 validation_failed', async () => {
  const error = errorOf(await read([ecommerceEvent({ amount: 'lots' })], KEY_ACME));
  assert.equal(error.code, 'validation_failed');
});

test('a relay caller and auth off keep each event tenant as sent (default when absent)', async () => {
  for (const rule of [undefined, { from: 'body' } as const]) {
    const result = await read(
      [
        ecommerceEvent({ transaction_id: 'a' }, { tenant: 'globex' }),
        cloudEvent('b', 'acme'),
        cloudEvent('c'),
      ],
      rule,
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.value.accepted.map((e) => e.tenant),
      ['globex', 'acme', 'default'],
    );
  }
});
