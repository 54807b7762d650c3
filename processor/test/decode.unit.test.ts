// The processor's own check of records that did not come through intake (guarantee 4): event times
// out of the stream's range and text no store can hold are dead letters (step validate), judged
// against the broker's record timestamp, so a replay decides as the first read did.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import { equipmentMetrics } from '@sluice/shared/streams/bakery';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { brokenRuleOf, checkRecord } from '../src/stages/decode.ts';

const RECORDED = Date.parse('2026-12-04T10:00:00Z');

function record(
  overrides: Record<string, unknown>,
  data: Record<string, unknown> = {},
  timestamp = RECORDED,
) {
  const value = JSON.stringify({
    id: 'e-1',
    stream: 'ecommerce',
    tenant: 'default',
    time: RECORDED - 1_000,
    received_at: RECORDED,
    key: 'Books',
    data: {
      transaction_id: 'e-1',
      user_id: 'u-1',
      product_category: 'Books',
      product_name: 'Atlas',
      amount: 12.5,
      timestamp: '2026-12-04T09:59:59Z',
      payment_method: 'card',
      ...data,
    },
    ...overrides,
  });
  const r: IncomingRecord = {
    topic: 'ecommerce',
    partition: 0,
    offset: 0n,
    key: new TextEncoder().encode('Books'),
    value: new TextEncoder().encode(value),
    headers: {},
    timestamp,
  };
  return r;
}

test('a well-formed record passes', () => {
  assert.equal(checkRecord(record({}), ecommerce).kind, 'ok');
});

// The year-9999 event produced past intake: it would have moved the watermark to 9999.
test('year-9999 event past intake: dead-lettered against the record timestamp, whatever received_at says', () => {
  const future = Date.parse('9999-12-31T23:59:59Z');
  const outcome = checkRecord(record({ time: future, received_at: future }), ecommerce);
  assert.equal(outcome.kind, 'dlq');
  if (outcome.kind === 'dlq') {
    assert.equal(outcome.step, 'validate');
    assert.match(outcome.reason, /more than 1 h after the receive time 2026-12-04T10:00:00.000Z/);
  }
  assert.equal(
    checkRecord(record({ time: RECORDED + 3_600_000 }), ecommerce).kind,
    'ok',
    'the skew itself is fine',
  );
  assert.equal(checkRecord(record({ time: 9e15 }), ecommerce).kind, 'dlq', 'past what a Date holds');
  assert.equal(checkRecord(record({ time: -5 }), ecommerce).kind, 'dlq', 'before the earliest');
});

// The NUL key produced past intake: its window row failed in PostgreSQL on every retry.
test('NUL key past intake: text no store can hold is a dead letter naming the field', () => {
  const nul = checkRecord(record({ key: 'Sp\u0000orts' }, { product_category: 'Sp\u0000orts' }), ecommerce);
  assert.equal(nul.kind, 'dlq');
  if (nul.kind === 'dlq') {
    assert.equal(nul.step, 'validate');
    assert.match(nul.reason, /NUL/);
  }
  const surrogate = checkRecord(record({ id: 'x\ud800' }), ecommerce);
  assert.equal(surrogate.kind, 'dlq');
  if (surrogate.kind === 'dlq') assert.match(surrogate.reason, /^id: .*surrogate/);
  assert.equal(checkRecord(record({}, { product_name: 'a\\u0000b (escaped text)' }), ecommerce).kind, 'ok');
});

// Data quality: a valid event that breaks a business rule is its own outcome (rejected, naming the
// rule), not a dead letter of its decoding: it still belongs to its windows, counted as rejected.
test('a valid event that breaks a business rule is rejected, naming the rule', () => {
  const reading = (value: number) => {
    const body = JSON.stringify({
      id: 'r-1',
      stream: 'equipment-metrics',
      tenant: 'default',
      time: RECORDED - 1_000,
      received_at: RECORDED,
      key: 'oven-1',
      data: {
        reading_id: 'r-1',
        equipment_id: 'oven-1',
        metric: 'temperature',
        value,
        timestamp: '2026-12-04T09:59:59Z',
      },
    });
    const r: IncomingRecord = {
      topic: 'equipment-metrics',
      partition: 0,
      offset: 0n,
      key: new TextEncoder().encode('oven-1'),
      value: new TextEncoder().encode(body),
      headers: {},
      timestamp: RECORDED,
    };
    return r;
  };
  const broken = checkRecord(reading(1000), equipmentMetrics);
  assert.equal(broken.kind, 'rejected');
  if (broken.kind === 'rejected') {
    assert.equal(broken.rule, 'plausible_value');
    assert.equal(broken.event.key, 'oven-1');
    assert.equal(brokenRuleOf(broken), 'plausible_value');
  }
  const fine = checkRecord(reading(180), equipmentMetrics);
  assert.equal(fine.kind, 'ok');
  if (fine.kind === 'ok') assert.equal(brokenRuleOf(fine), undefined);
});
