// Intake's compiled check (events/intake-fast-path.ts) against zod, its judge: every declared stream
// has one, and over arbitrary events (valid ones with a field of the envelope or of `data` replaced,
// removed or added, nested objects with unknown keys, strings around their bounds) a request's
// verdicts are what zod alone gives: the same accepted events, field for field (and so the same
// Kafka record values), and the same refusals, word for word.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileExactCheck } from '@sluice/shared/events/exact-check';
import { checkedEnvelope, hasIntakeCheck } from '@sluice/shared/events/intake-fast-path';
import type { RawItem, TenantRule, ValidateOptions } from '@sluice/shared/events/validate';
import { validateItem } from '@sluice/shared/events/validate';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { count, defineStream, tumbling } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { STREAMS, streamRegistry } from '@sluice/shared/streams/registry';
import fc from 'fast-check';
import { z } from 'zod';
import { ECOMMERCE_PAYLOAD, mutated } from './mutated-events.ts';

const NOW = Date.parse('2026-06-01T00:00:30Z');

/** The same stream judged by zod alone: a refinement that passes everything has no compiled check. */
function zodOnly(stream: StreamDefinition): StreamDefinition {
  const judged = { ...stream, schema: stream.schema.refine(() => true) };
  assert.equal(hasIntakeCheck(judged), false);
  return judged;
}

function options(stream: StreamDefinition, tenant: TenantRule): ValidateOptions {
  return {
    registry: streamRegistry([stream]),
    now: NOW,
    maxEventBytes: 1024 * 1024,
    maxDepth: 32,
    newId: () => 'generated-id',
    tenant,
  };
}

/** Envelope fields the valid events leave out that a sender may set (specversion: a CloudEvent). */
const EXTRA_ENVELOPE_KEYS = ['tenant', 'source', 'specversion'];

const TENANTS: readonly TenantRule[] = [{ from: 'body' }, { from: 'key', tenant: 'acme' }];

/** The verdict on `value` with the compiled check and with zod alone are the same. */
function assertSameVerdict(generated: unknown, stream: StreamDefinition, tenant: TenantRule) {
  // As intake meets it: parsed from JSON (own `__proto__` keys included).
  const value: unknown = JSON.parse(JSON.stringify(generated));
  const item: RawItem = { index: 0, value, bytes: 400 };
  const compiled = validateItem(item, options(stream, tenant));
  const judged = validateItem(item, options(zodOnly(stream), tenant));
  // deepEqual: the same keys and values (an accepted event's `data` keeps the sender's key order
  // with the compiled check, the schema's with zod; JSON says the same either way).
  assert.deepEqual(compiled, judged, JSON.stringify(value));
}

const validEcommerce = {
  id: 'e-1',
  stream: 'ecommerce',
  time: '2026-06-01T00:00:00Z',
  data: ECOMMERCE_PAYLOAD,
};

test('every declared stream has a compiled intake check, and a valid event takes it', () => {
  for (const stream of STREAMS) assert.ok(hasIntakeCheck(stream), stream.name);
  assert.ok(checkedEnvelope(validEcommerce, streamRegistry([ecommerce])));
});

test('what zod would strip is not taken by the compiled check: zod drops it, as before', () => {
  const registry = streamRegistry([ecommerce]);
  const extra = { ...validEcommerce, data: { ...validEcommerce.data, injected: 'x'.repeat(1000) } };
  assert.equal(checkedEnvelope(extra, registry), undefined);
  const verdict = validateItem({ index: 0, value: extra, bytes: 1200 }, options(ecommerce, { from: 'body' }));
  assert.ok(verdict.ok);
  assert.equal('injected' in verdict.event.data, false);
});

test('with the compiled check, ecommerce events get the verdicts zod alone gives', () => {
  fc.assert(
    fc.property(mutated(validEcommerce, EXTRA_ENVELOPE_KEYS), fc.constantFrom(...TENANTS), (value, tenant) =>
      assertSameVerdict(value, ecommerce, tenant),
    ),
    { numRuns: 3_000 },
  );
});

// Every kind and check the compiled check takes, objects nested (which zod strips) included.
const everyKind = z.object({
  count: z.int().min(0).max(1_000),
  ratio: z.number().gt(0).lt(1),
  name: z.string().min(2).max(8),
  code: z
    .string()
    .length(3)
    .regex(/^[A-Z]+$/),
  at: z.iso.datetime({ offset: true }),
  kind: z.enum(['a', 'b']),
  fixed: z.literal('v1'),
  maybe: z.string().nullable(),
  tags: z.array(z.string().max(4)).max(3),
  either: z.union([z.boolean(), z.null(), z.number().nonnegative()]),
  labels: z.record(z.string(), z.string()),
  nested: z.object({ a: z.string(), b: z.object({ c: z.number() }).optional() }),
  items: z.array(z.object({ sku: z.string() })).max(2),
  loose: z.looseObject({ x: z.number() }),
  strict: z.strictObject({ y: z.number() }).optional(),
  anything: z.unknown(),
});
const kinds = defineStream({
  name: 'kinds',
  schema: everyKind,
  description: 'every kind',
  partitions: 1,
  keyBy: ['kind'],
  windows: [tumbling('1m')],
  aggregations: [count()],
  watermark: '1s',
  allowedLateness: '10s',
});
const validKinds = {
  stream: 'kinds',
  data: {
    count: 3,
    ratio: 0.5,
    name: 'abc',
    code: 'XYZ',
    at: '2026-06-01T00:00:00+02:00',
    kind: 'a',
    fixed: 'v1',
    maybe: null,
    tags: ['x'],
    either: true,
    labels: { a: 'b' },
    nested: { a: 'n', b: { c: 1 } },
    items: [{ sku: 's' }],
    loose: { x: 1, kept: true },
    strict: { y: 2 },
    anything: [1, { two: 2 }],
  },
};

test('with the compiled check, events of every kind it takes get the verdicts zod alone gives', () => {
  assert.ok(hasIntakeCheck(kinds), 'every kind in this schema is one the compiled check takes');
  const nestedExtra = { ...validKinds, data: { ...validKinds.data, nested: { a: 'n', b: { c: 1, d: 2 } } } };
  for (const value of [validKinds, nestedExtra]) assertSameVerdict(value, kinds, { from: 'body' });
  fc.assert(
    fc.property(mutated(validKinds, EXTRA_ENVELOPE_KEYS), fc.constantFrom(...TENANTS), (value, tenant) =>
      assertSameVerdict(value, kinds, tenant),
    ),
    { numRuns: 5_000 },
  );
});

test('where unknown keys are refused, a union holding an object is left to zod', () => {
  // zod outputs the first member that parses, stripped: {a, b} parses as {a} first.
  const union = z.object({
    u: z.union([z.object({ a: z.string() }), z.object({ a: z.string(), b: z.string() })]),
  });
  assert.equal(compileExactCheck(union, 'refused'), null);
  assert.notEqual(compileExactCheck(union, 'kept'), null);
  const scalars = z.object({ u: z.union([z.string(), z.array(z.number())]) });
  assert.notEqual(compileExactCheck(scalars, 'refused'), null);
});
