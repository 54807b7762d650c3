// Only storable text gets in (guarantee 4): NUL and lone surrogates, in any field or key, are a
// per-event 400 at intake; the walk finds them at any depth; the processor's precheck never misses.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findUnstorableText, mayHoldUnstorableText } from '@sluice/shared/events/storable-text';
import fc from 'fast-check';
import { ecommerceEvent, verdictOf } from './verdict.ts';

const event = ecommerceEvent;
const verdict = (value: unknown) => verdictOf(value);

// The NUL key: "Sp\u0000orts" was accepted and its batch then failed in PostgreSQL for ever.
test('NUL key: an event whose key holds U+0000 is a per-event 400 naming the field', () => {
  const v = verdict(event({ product_category: 'Sp\u0000orts' }));
  assert.equal(v.ok, false);
  if (v.ok) return;
  assert.equal(v.rejection.errors[0]?.path, 'data.product_category');
  assert.match(v.rejection.errors[0]?.message ?? '', /NUL/);
});

test('lone surrogates and NUL are refused in ids, envelope fields, nested data and keys', () => {
  const cases: [unknown, string][] = [
    [event({ product_category: 'x\ud800' }), 'data.product_category'],
    [event({}, { id: 'a\udc00b' }), 'id'],
    [event({}, { source: '\u0000' }), 'source'],
    [event({ transaction_id: '\ud83d' }), 'data.transaction_id'],
  ];
  for (const [value, path] of cases) {
    const v = verdict(value);
    assert.equal(v.ok, false, path);
    if (!v.ok) assert.equal(v.rejection.errors[0]?.path, path);
  }
  assert.deepEqual(findUnstorableText({ a: [{ b: 'ok' }, { c: ['x', 'y\u0000'] }] }), {
    path: 'a.1.c.1',
    message: 'text holds a NUL character (U+0000), which PostgreSQL cannot store',
  });
  assert.match(findUnstorableText({ a: { 'k\ud800': 1 } })?.message ?? '', /^a key: /);
  assert.equal(
    findUnstorableText({ ok: 'Sp🎉orts', n: 1, b: null, c: [true] }),
    null,
    'a pair is well formed',
  );
});

test('the precheck says yes for every JSON text whose strings hold NUL or a lone surrogate', () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
      const json = JSON.stringify({ value, text });
      const bad = findUnstorableText(JSON.parse(json)) !== null;
      if (bad) {
        assert.equal(mayHoldUnstorableText(json), true);
        assert.equal(mayHoldUnstorableText(encoder.encode(json)), true);
      }
    }),
    { numRuns: 2_000 },
  );
  assert.equal(mayHoldUnstorableText('{"a":"plain"}'), false);
});
