// Client trace headers are checked before they are continued or copied onto Kafka records
// (issue 20, item 4): W3C format, lowercase hex, non-zero ids, bounded tracestate.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  contextFrom,
  isValidTraceparent,
  isValidTracestate,
  validTraceHeaders,
} from '../src/telemetry/trace-context.ts';

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

test('traceparent: version-traceid-spanid-flags in lowercase hex, ids not all zeros, version not ff', () => {
  assert.ok(isValidTraceparent(VALID));
  // A later version may carry more fields; version 00 may not.
  assert.ok(isValidTraceparent('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later'));
  for (const bad of [
    VALID.toUpperCase(),
    `${VALID}-x`,
    `ff${VALID.slice(2)}`,
    `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
    `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
    '00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01',
    `${VALID}\n`,
    'x'.repeat(100_000),
    '',
  ])
    assert.equal(isValidTraceparent(bad), false, JSON.stringify(bad.slice(0, 80)));
});

test('tracestate: at most 512 characters and 32 well-formed members', () => {
  assert.ok(isValidTracestate('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7, vendor@sys=a b'));
  assert.ok(isValidTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')));
  assert.equal(isValidTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')), false);
  assert.equal(isValidTracestate(`a=${'v'.repeat(511)}`), false);
  for (const bad of ['UPPER=1', 'a=b=c', 'a', 'a=\u0000', 'a=1\nb=2'])
    assert.equal(isValidTracestate(bad), false, JSON.stringify(bad));
});

test('an invalid traceparent drops its tracestate too; an invalid tracestate alone is dropped', () => {
  assert.deepEqual(validTraceHeaders({ traceparent: VALID, tracestate: 'a=1' }), {
    traceparent: VALID,
    tracestate: 'a=1',
  });
  assert.deepEqual(validTraceHeaders({ traceparent: VALID, tracestate: 'A=1' }), { traceparent: VALID });
  assert.deepEqual(validTraceHeaders({ traceparent: 'junk', tracestate: 'a=1' }), {});
  assert.equal(contextFrom({ traceparent: 'junk' }), ROOT_CONTEXT);
});
