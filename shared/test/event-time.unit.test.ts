// Event time as streams accept it (guarantee 4): formats, the zone of naive times, and the range.
// Pure units over shared/src/events/event-time.ts and the verdicts intake gives with it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventTimePolicy } from '@sluice/shared/events/event-time';
import {
  DEFAULT_EVENT_TIME_POLICY,
  eventTimeOutOfRange,
  MAX_DATE_MS,
  parseEventTime,
} from '@sluice/shared/events/event-time';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { defineStream, tumbling } from '@sluice/shared/streams/define';
import { eventTimeField } from '@sluice/shared/streams/fields';
import { z } from 'zod';
import { ecommerceEvent, NOW, verdictOf } from './verdict.ts';

const all: EventTimePolicy = { ...DEFAULT_EVENT_TIME_POLICY, formats: ['rfc3339', 'epoch_ms', 'naive'] };

test('RFC 3339 with an offset and epoch milliseconds read as the same instant', () => {
  assert.deepEqual(parseEventTime('2026-12-04T11:00:00+01:00', all), { ok: true, ms: NOW });
  assert.deepEqual(parseEventTime(NOW, all), { ok: true, ms: NOW });
});

test('a time without a zone is read in the declared zone, DST included', () => {
  assert.deepEqual(parseEventTime('2025-11-29 20:04:32', all), {
    ok: true,
    ms: Date.parse('2025-11-29T20:04:32Z'),
  });
  assert.deepEqual(parseEventTime('2025-11-29T20:04:32.5', all), {
    ok: true,
    ms: Date.parse('2025-11-29T20:04:32.500Z'),
  });
  const paris = { ...all, naiveTimeZone: 'Europe/Paris' };
  assert.deepEqual(parseEventTime('2025-07-01 12:00:00', paris), {
    ok: true,
    ms: Date.parse('2025-07-01T10:00:00Z'),
  });
  assert.deepEqual(parseEventTime('2025-12-01 12:00', paris), {
    ok: true,
    ms: Date.parse('2025-12-01T11:00:00Z'),
  });
  const kolkata = { ...all, naiveTimeZone: 'Asia/Kolkata' };
  assert.deepEqual(parseEventTime('2025-12-01 05:30:00', kolkata), {
    ok: true,
    ms: Date.parse('2025-12-01T00:00:00Z'),
  });
});

test('formats a stream does not declare are refused with a message', () => {
  const naive = parseEventTime('2025-11-29 20:04:32', DEFAULT_EVENT_TIME_POLICY);
  assert.equal(naive.ok, false);
  assert.match(naive.ok ? '' : naive.message, /without a zone/);
  const onlyRfc: EventTimePolicy = { ...DEFAULT_EVENT_TIME_POLICY, formats: ['rfc3339'] };
  assert.equal(parseEventTime(NOW, onlyRfc).ok, false);
  assert.equal(parseEventTime('2025-02-30 10:00:00', all).ok, false, 'no 30 February');
  assert.equal(parseEventTime('2025-11-29T20:04:32', DEFAULT_EVENT_TIME_POLICY).ok, false);
  assert.equal(parseEventTime('yesterday', all).ok, false);
});

test('numbers a Date cannot hold are refused everywhere', () => {
  for (const value of [9e15, MAX_DATE_MS + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])
    assert.equal(parseEventTime(value, all).ok, false, String(value));
  assert.equal(eventTimeOutOfRange(9e15, NOW, all) !== null, true);
  assert.equal(eventTimeOutOfRange(Number.NaN, NOW, all) !== null, true);
  assert.equal(eventTimeFieldAccepts(9e15), false, 'the payload schema refuses it too');
  assert.equal(eventTimeFieldAccepts(MAX_DATE_MS), true);
});

test('the range: no earlier than the earliest, no later than the reference plus the skew', () => {
  assert.equal(eventTimeOutOfRange(NOW + 3_600_000, NOW, all), null, 'exactly the skew is accepted');
  assert.match(eventTimeOutOfRange(NOW + 3_600_001, NOW, all) ?? '', /more than 1 h after the receive time/);
  assert.match(eventTimeOutOfRange(-1, NOW, all) ?? '', /before the earliest/);
  assert.equal(eventTimeOutOfRange(0, NOW, all), null);
});

// The year-9999 event: answered 202 and moved its partition's watermark to 9999.
test('year-9999 event: intake refuses an event time past the receive time plus the skew', () => {
  const verdict = validate(tx({ timestamp: '9999-12-31T23:59:59Z' }));
  assert.equal(verdict.ok, false);
  if (verdict.ok) return;
  assert.deepEqual(
    verdict.rejection.errors.map((e) => e.path),
    ['data.timestamp'],
  );
  assert.match(verdict.rejection.errors[0]?.message ?? '', /9999-12-31T23:59:59.000Z is more than 1 h after/);
  // The envelope's own time meets the same bound on a stream without a time field.
  const envelopeTime = validateIn(untimed, { stream: 'untimed', time: 9e15, data: { k: 'a' } });
  assert.equal(envelopeTime.ok, false);
  const future = validateIn(untimed, { stream: 'untimed', time: '2030-01-01T00:00:00Z', data: { k: 'a' } });
  assert.equal(future.ok ? '' : future.rejection.errors[0]?.path, 'time');
});

// The seed 004 payload: its producer writes local time without a zone.
test('seed 004 payload: ecommerce accepts a time without a zone as UTC', () => {
  const verdict = validate(tx({ timestamp: '2025-11-29 20:04:32' }));
  assert.equal(verdict.ok, true, JSON.stringify(verdict));
  if (verdict.ok) assert.equal(verdict.event.time, Date.parse('2025-11-29T20:04:32Z'));
});

test('a stream declares its skew and earliest time', () => {
  const strict = defineStream({
    name: 'strict',
    description: 'test',
    partitions: 1,
    schema: z.object({ k: z.string(), t: eventTimeField }),
    eventTime: 't',
    keyBy: ['k'],
    windows: [tumbling('1m')],
    aggregations: [],
    watermark: '1m',
    allowedLateness: '0s',
    maxFutureSkew: '5m',
    earliestEventTime: '2020-01-01T00:00:00Z',
  });
  assert.equal(validateIn(strict, { stream: 'strict', data: { k: 'a', t: NOW + 300_000 } }).ok, true);
  assert.equal(validateIn(strict, { stream: 'strict', data: { k: 'a', t: NOW + 300_001 } }).ok, false);
  assert.equal(
    validateIn(strict, { stream: 'strict', data: { k: 'a', t: '2019-12-31T23:59:59Z' } }).ok,
    false,
  );
  assert.throws(() => defineStream({ ...strictInput(), naiveTimeZone: 'Mars/Olympus' }), RangeError);
});

const untimed = defineStream({
  name: 'untimed',
  description: 'test',
  partitions: 1,
  schema: z.object({ k: z.string() }),
  keyBy: ['k'],
  windows: [tumbling('1m')],
  aggregations: [],
  watermark: '1m',
  allowedLateness: '0s',
});

function strictInput() {
  return {
    name: 'strict2',
    description: 'test',
    partitions: 1,
    schema: z.object({ k: z.string() }),
    keyBy: ['k'] as const,
    windows: [tumbling('1m')],
    aggregations: [],
    watermark: '1m' as const,
    allowedLateness: '0s' as const,
  };
}

function eventTimeFieldAccepts(value: unknown): boolean {
  return eventTimeField.safeParse(value).success;
}

const tx = (data: Record<string, unknown>) => ecommerceEvent(data);
const validate = (value: unknown) => verdictOf(value);
const validateIn = (stream: StreamDefinition, value: unknown) => verdictOf(value, [stream]);
