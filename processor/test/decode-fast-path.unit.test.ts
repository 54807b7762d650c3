// The compiled fast check of record values (stages/decode-fast-path.ts) against zod, its judge: it exists for
// the declared streams, not for schemas JSON Schema cannot say whole, and over arbitrary values
// (valid events with fields replaced, removed or added, strings around their length bounds with
// astral characters) decoding with it answers what decoding with zod alone answers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DecodeResult } from '@sluice/shared/events/envelope';
import { decodeEvent } from '@sluice/shared/events/envelope';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { STREAMS } from '@sluice/shared/streams/registry';
import fc from 'fast-check';
import { z } from 'zod';
import { ECOMMERCE_PAYLOAD, mutated } from '../../shared/test/mutated-events.ts';
import { fastCheckFor } from '../src/stages/decode-fast-path.ts';

test('every declared stream gets a fast check', () => {
  for (const stream of STREAMS) assert.ok(fastCheckFor(stream.schema), stream.name);
});

test('a schema JSON Schema cannot say whole gets none (zod alone judges it)', () => {
  const inexact: Record<string, z.ZodType<Record<string, unknown>>> = {
    refine: z.object({ a: z.number().refine((n) => n > 1) }),
    'nested refine': z.object({ a: z.object({ b: z.string().refine(() => true) }).optional() }),
    superRefine: z.object({ a: z.number() }).superRefine(() => {}),
    transform: z.object({ a: z.string().transform((s) => s.toUpperCase()) }),
    default: z.object({ a: z.number().default(1) }),
    trim: z.object({ a: z.string().trim() }),
    custom: z.object({ a: z.custom<number>((v) => typeof v === 'number') }),
    url: z.object({ a: z.url() }),
    'regex with flags': z.object({ a: z.string().regex(/^a+$/i) }),
    'record keyed by an enum': z.object({ a: z.record(z.enum(['x', 'y']), z.number()) }),
    'multiple of': z.object({ a: z.number().multipleOf(0.1) }),
  };
  for (const [name, schema] of Object.entries(inexact)) assert.equal(fastCheckFor(schema), undefined, name);
});

/** Decoding with the fast check and with zod alone give the same answer for `value`. */
function assertSameDecision(value: unknown, payload: z.ZodType<Record<string, unknown>>) {
  const fast = fastCheckFor(payload);
  assert.ok(fast);
  const bytes = JSON.stringify(value);
  const withFast = decodeEvent(bytes, payload, fast);
  const zodOnly = decodeEvent(bytes, payload);
  assert.equal(withFast.ok, zodOnly.ok, `${bytes}: fast ${describe(withFast)}, zod ${describe(zodOnly)}`);
  // And the fast check takes all that zod takes: one stricter than zod is still right (zod judges
  // what it refuses) but sends values through both for nothing. The one exception: astral
  // characters near a maximum length, which it may measure in UTF-16 units (ajvUnits).
  if (zodOnly.ok && !fast(JSON.parse(bytes)))
    assert.match(bytes, /[\uD800-\uDBFF]/, `${bytes}: zod takes it, the fast check does not`);
  if (!withFast.ok || !zodOnly.ok) {
    // A refusal is always zod's: the same reason, word for word.
    assert.deepEqual(withFast, zodOnly);
    return;
  }
  const { data: fastData, ...fastEnvelope } = withFast.event;
  const { data: zodData, ...zodEnvelope } = zodOnly.event;
  assert.deepEqual(fastEnvelope, zodEnvelope);
  // zod drops keys the schema does not name; the fast check keeps them, and the windows read only
  // named fields: every field zod outputs is there, with the same value.
  for (const [name, v] of Object.entries(zodData))
    assert.deepEqual(fastData[name], v, `${bytes}: data.${name}`);
}
const describe = (result: DecodeResult) => (result.ok ? 'ok' : result.reason);

const validEcommerce = {
  id: 'e-1',
  stream: 'ecommerce',
  tenant: 'default',
  time: 1_780_272_000_000,
  received_at: 1_780_272_000_000,
  key: 'Electronics',
  data: ECOMMERCE_PAYLOAD,
};

test('with the fast check, ecommerce values decode as zod alone decodes them', () => {
  fc.assert(
    fc.property(mutated(validEcommerce), (value) => assertSameDecision(value, ecommerce.schema)),
    {
      numRuns: 3_000,
    },
  );
});

// Every kind and check the fast check takes, in one schema.
const everyKind = z.object({
  count: z.int().min(0).max(1_000),
  ratio: z.number().gt(0).lt(1),
  name: z.string().min(2).max(8),
  code: z
    .string()
    .length(3)
    .regex(/^[A-Z]+$/),
  email: z.email().optional(),
  at: z.iso.datetime({ offset: true }),
  day: z.iso.date(),
  id: z.uuid(),
  prefix: z.string().startsWith('sku-').lowercase(),
  kind: z.enum(['a', 'b']),
  fixed: z.literal('v1'),
  maybe: z.string().nullable(),
  tags: z.array(z.string().max(4)).max(3),
  either: z.union([z.boolean(), z.null(), z.number().nonnegative()]),
  labels: z.record(z.string(), z.string()),
  anything: z.unknown(),
});
const validEveryKind = {
  id: 'k-1',
  stream: 'kinds',
  tenant: 'default',
  time: 1_780_272_000_000,
  received_at: 1_780_272_000_000,
  key: 'a',
  data: {
    count: 3,
    ratio: 0.5,
    name: 'abc',
    code: 'XYZ',
    email: 'a@example.com',
    at: '2026-06-01T00:00:00+02:00',
    day: '2026-06-01',
    id: '0190d3a4-7b8c-7def-8123-456789abcdef',
    prefix: 'sku-12',
    kind: 'a',
    fixed: 'v1',
    maybe: null,
    tags: ['x'],
    either: true,
    labels: { a: 'b' },
    anything: [1, { two: 2 }],
  },
};

test('with the fast check, values of every kind it takes decode as zod alone decodes them', () => {
  assert.ok(fastCheckFor(everyKind), 'every kind in this schema is one the fast check takes');
  fc.assert(
    fc.property(mutated(validEveryKind), (value) => assertSameDecision(value, everyKind)),
    {
      numRuns: 5_000,
    },
  );
});
