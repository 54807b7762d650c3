// Only storable text gets in (guarantee 4): NUL and lone surrogates, in any field or key, are a
// per-event 400 at intake; the walk finds them at any depth; the processor's precheck never misses.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseBody } from '@sluice/shared/events/parse-body';
import { findUnstorableText, mayHoldUnstorableText } from '@sluice/shared/events/storable-text';
import type { RawItem } from '@sluice/shared/events/validate';
import { validateItem } from '@sluice/shared/events/validate';
import { streamRegistry } from '@sluice/shared/streams/registry';
import fc from 'fast-check';
import { ecommerceEvent, NOW, verdictOf } from './verdict.ts';

const event = ecommerceEvent;
/** Intake's verdict options, at verdict.ts's receive time. */
const options = {
  registry: streamRegistry(),
  now: NOW,
  maxEventBytes: 1 << 20,
  maxDepth: 32,
  newId: () => 'g',
};
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

// Intake skips the walk for an event whose JSON had no backslash (parse-body.ts marks it
// escapeFree): its verdict must be the walk's, in every body format, whatever text it holds.
test('through parseBody, every format: the verdict with the skip is the verdict of the full walk', async () => {
  const walked = (item: RawItem) => {
    if (!('value' in item)) return validateItem(item, options);
    const { escapeFree: _, ...plain } = item;
    return validateItem(plain, options);
  };
  // Any text, with the characters that matter here dropped in often: NUL, lone halves of a pair, a
  // whole pair, and what JSON escapes (a quote, a backslash, a control character).
  const special = fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 4, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udc00', '😀', '"', '\\', '\n') },
  );
  const any = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
  );
  const text = fc.tuple(any, special, any).map(([a, b, c]) => `${a}${b}${c}`);
  let skipped = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(
      text,
      text,
      text,
      fc.constantFrom('application/json', 'application/x-ndjson', 'application/cloudevents-batch+json'),
      async (category, key, source, format) => {
        const event = ecommerceEvent(
          { product_category: category, extra: { [key]: 1 } },
          { source: `s${source}` },
        );
        const ce = {
          specversion: '1.0',
          type: 'ecommerce',
          source: `s${source}`,
          id: 'c-1',
          data: event.data,
        };
        const [type, body] = [
          ['application/json', JSON.stringify([event, event])],
          ['application/x-ndjson', `${JSON.stringify(event)}\n${JSON.stringify(event)}\n`],
          ['application/cloudevents-batch+json', JSON.stringify([ce])],
        ].find(([t]) => t === format) ?? ['', ''];
        const parsed = await parseBody(
          new Request('http://127.0.0.1/v1/events', {
            method: 'POST',
            body,
            headers: { 'content-type': type },
          }),
          { maxRequestBytes: 1 << 20, maxEventBytes: 1 << 20, maxEvents: 100 },
        );
        assert.ok(parsed.ok);
        for (const item of parsed.value.items) {
          const verdict = validateItem(item, options);
          assert.deepEqual(verdict, walked(item));
          if ('escapeFree' in item && item.escapeFree === true) skipped += 1;
          if (!verdict.ok && /NUL|surrogate/.test(verdict.rejection.errors[0]?.message ?? '')) refused += 1;
        }
      },
    ),
    { numRuns: 600 },
  );
  // Both paths were taken: events skipped the walk, and events with NUL or a lone surrogate were refused.
  assert.ok(skipped > 100 && refused > 100, `${skipped} skipped, ${refused} refused`);
});

// What the skip rests on, from raw bytes: NUL or a lone surrogate cannot arrive unescaped. A raw
// NUL is not JSON, a surrogate's UTF-8 form (ED A0 80) is not UTF-8; escaped, inside gzip or one
// structured CloudEvent, the event is walked and refused.
test('raw bytes cannot smuggle NUL or a lone surrogate past the skip', async () => {
  const limits = { maxRequestBytes: 1 << 20, maxEventBytes: 1 << 20, maxEvents: 100 };
  const post = (body: Uint8Array, type: string, encoding?: string) =>
    parseBody(
      new Request('http://127.0.0.1/v1/events', {
        method: 'POST',
        body,
        headers: {
          'content-type': type,
          ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
        },
      }),
      limits,
    );
  const encoder = new TextEncoder();
  const text = (category: string) => JSON.stringify([ecommerceEvent({ product_category: category })]);
  const raw = (json: string, marker: string, bytes: number[]) => {
    const [before = '', after = ''] = json.split(marker);
    return new Uint8Array([...encoder.encode(before), ...bytes, ...encoder.encode(after)]);
  };
  // A raw NUL byte inside a string: not JSON, the whole request refused.
  assert.equal((await post(raw(text('a@b'), '@', [0x00]), 'application/json')).ok, false);
  // The same in an NDJSON line: that line is a per-event parse error.
  const line = JSON.stringify(ecommerceEvent({ product_category: 'a@b' }));
  const ndjson = await post(raw(`${line}\n`, '@', [0x00]), 'application/x-ndjson');
  assert.ok(ndjson.ok && 'parseError' in (ndjson.value.items[0] ?? {}));
  // A lone surrogate's UTF-8 form: the body is not UTF-8, refused.
  assert.equal((await post(raw(text('a@b'), '@', [0xed, 0xa0, 0x80]), 'application/json')).ok, false);
  // Escaped, and gzipped: walked and refused per event.
  for (const [category, encoding] of [
    ['a\u0000b', 'gzip'],
    ['a\ud800b', 'gzip'],
  ] as const) {
    const body = await post(gzipSync(encoder.encode(text(category))), 'application/json', encoding);
    assert.ok(body.ok);
    const verdict = validateItem(body.value.items[0] ?? { index: 0, parseError: 'none' }, options);
    assert.equal(verdict.ok, false);
    if (!verdict.ok) assert.match(verdict.rejection.errors[0]?.message ?? '', /NUL|surrogate/);
  }
  // One structured CloudEvent with an escaped lone surrogate in its data.
  const ce = JSON.stringify({
    specversion: '1.0',
    type: 'ecommerce',
    source: 's',
    id: 'c-1',
    data: ecommerceEvent({ product_category: 'x\udc00' }).data,
  });
  const structured = await post(encoder.encode(ce), 'application/cloudevents+json');
  assert.ok(structured.ok);
  const verdict = validateItem(structured.value.items[0] ?? { index: 0, parseError: 'none' }, options);
  assert.equal(verdict.ok, false);
});
