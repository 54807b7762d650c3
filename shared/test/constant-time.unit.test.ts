// The signature comparison is constant-time (issue 22): correct on every kind of input, and with
// no early exit. "No early exit" is proven by counting work, not by timing (timing on a shared
// 2-core machine proves nothing): the inputs are Proxies over Uint8Arrays that count every index
// read, and a mismatch at the first byte, one at the last byte and equal inputs must cost the same
// reads. A source check keeps verify.ts on that path: MACs meet only in matchesAny.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { constantTimeEqual, matchesAny } from '../src/webhooks/constant-time.ts';

const bytes = (...values: number[]) => new Uint8Array(values);
const mac = (fill: number, length = 32) => new Uint8Array(length).fill(fill);

/** `array` behind a Proxy that counts its index reads (`a[i]`) into `counter.reads`. */
function counted(array: Uint8Array, counter: { reads: number }): Uint8Array {
  return new Proxy(array, {
    get(target, property) {
      if (typeof property === 'string' && /^\d+$/.test(property)) counter.reads += 1;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The index reads constantTimeEqual makes of both inputs. */
function readsOf(a: Uint8Array, b: Uint8Array): { reads: number; equal: boolean } {
  const counter = { reads: 0 };
  const equal = constantTimeEqual(counted(a, counter), counted(b, counter));
  return { reads: counter.reads, equal };
}

describe('constantTimeEqual', () => {
  it('is true for equal bytes and false for any difference', () => {
    assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2, 3)), true);
    assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(0, 2, 3)), false);
    assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2, 4)), false);
    assert.equal(constantTimeEqual(bytes(0x80), bytes(0x00)), false, 'the high bit counts');
    assert.equal(constantTimeEqual(mac(0xff), mac(0xff)), true);
  });

  it('is false for different lengths, a prefix included, and for zero padding', () => {
    assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2)), false);
    assert.equal(constantTimeEqual(bytes(1, 2), bytes(1, 2, 3)), false);
    // a[i] ?? 0 pads the shorter one with zeros: the length must still tell them apart.
    assert.equal(constantTimeEqual(bytes(1, 2), bytes(1, 2, 0)), false);
    assert.equal(constantTimeEqual(bytes(), bytes(0)), false);
  });

  it('is true for two empty inputs and false for empty against non-empty', () => {
    assert.equal(constantTimeEqual(bytes(), bytes()), true);
    assert.equal(constantTimeEqual(bytes(), mac(1)), false);
    assert.equal(constantTimeEqual(mac(1), bytes()), false);
  });

  it('reads every byte whatever the inputs: a mismatch at byte 0, at the last byte, or none', () => {
    const expected = mac(0xab);
    const atFirst = mac(0xab);
    atFirst[0] = 0;
    const atLast = mac(0xab);
    atLast[31] = 0;
    const results = [
      readsOf(expected, atFirst),
      readsOf(expected, atLast),
      readsOf(expected, mac(0xab)),
      readsOf(expected, mac(0x00)),
    ];
    assert.deepEqual(
      results.map((r) => r.equal),
      [false, false, true, false],
    );
    // 32 reads of each input, for every one of them: no exit at the first difference.
    assert.deepEqual(
      results.map((r) => r.reads),
      [64, 64, 64, 64],
    );
  });

  it('reads the longer input whole when the lengths differ (no exit on the length either)', () => {
    assert.deepEqual(readsOf(mac(1, 32), mac(1, 20)), { reads: 64, equal: false });
    assert.deepEqual(readsOf(mac(1, 20), mac(1, 32)), { reads: 64, equal: false });
    assert.deepEqual(readsOf(bytes(), mac(1, 32)), { reads: 64, equal: false });
  });
});

describe('matchesAny', () => {
  const a = mac(1);
  const b = mac(2);
  const c = mac(3);

  it('is true when any candidate equals any expected MAC, false otherwise', () => {
    assert.equal(matchesAny([a], [a]), true);
    assert.equal(matchesAny([a, b], [c, b]), true, 'the previous secret, the second candidate');
    assert.equal(matchesAny([a, b], [c]), false);
    assert.equal(matchesAny([a], [a, a]), true, 'a candidate twice is still a match');
  });

  it('is false with no expected MAC (every secret retired) or no candidate', () => {
    assert.equal(matchesAny([], [a]), false);
    assert.equal(matchesAny([a], []), false);
    assert.equal(matchesAny([], []), false);
    assert.equal(matchesAny([bytes()], [bytes(1)]), false);
  });

  it('compares every pair whichever matches: first, last, or none', () => {
    const reads = (expected: Uint8Array[], candidates: Uint8Array[]) => {
      const counter = { reads: 0 };
      const matched = matchesAny(
        expected.map((e) => counted(e, counter)),
        candidates.map((x) => counted(x, counter)),
      );
      return { reads: counter.reads, matched };
    };
    const first = reads([a, b], [a, c, c]);
    const last = reads([a, b], [c, c, b]);
    const none = reads([a, b], [c, c, c]);
    assert.deepEqual([first.matched, last.matched, none.matched], [true, true, false]);
    // 2 expected x 3 candidates, 64 reads a pair: no short-circuit once a pair matched.
    assert.deepEqual([first.reads, last.reads, none.reads], [384, 384, 384]);
  });
});

describe('the verification path', () => {
  const dir = new URL('../src/webhooks/', import.meta.url);
  const source = (name: string) => readFileSync(new URL(name, dir), 'utf8');
  /** Code without comments: a comment may name what the code must not do. */
  const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

  it('compares the expected MACs with the sent ones only through matchesAny', () => {
    const verify = code(source('verify.ts'));
    assert.match(verify, /import \{ matchesAny \} from '\.\/constant-time\.ts'/);
    // The only reads of the MACs: computing them, and matchesAny(expected, candidates).
    const uses = [...verify.matchAll(/\b(?:expected|candidates)\b/g)].length;
    assert.match(verify, /const \{ algorithm, content, candidates, timestampSeconds \} = signed\.value;/);
    assert.match(verify, /const expected = await macsOf\(/);
    assert.match(verify, /if \(!matchesAny\(expected, candidates\)\)/);
    assert.equal(uses, 4, 'expected and candidates appear nowhere else in verify.ts');
  });

  it('never compares bytes with ===, equals, Buffer.compare or timingSafeEqual in the schemes', () => {
    const files = [
      'verify.ts',
      'signing-keys.ts',
      'node-macs.ts',
      'scheme.ts',
      'codec.ts',
      ...readdirSync(new URL('providers/', dir)).map((f) => `providers/${f}`),
    ];
    for (const file of files) {
      const text = code(source(file));
      assert.doesNotMatch(text, /Buffer\.compare|\.equals\(|timingSafeEqual|indexedDB/, file);
      // A MAC may be tested for absence (=== undefined) or a list of them for a count (=== 0),
      // never against another value.
      for (const match of text.matchAll(/([\w.[\]]+)\s*[!=]==?\s*([\w.[\]]+)/g)) {
        const [, left = '', right = ''] = match;
        const macLike = /\b(?:mac|macs|expected|candidates?|sent|signature)\b/i;
        if (macLike.test(left) || macLike.test(right))
          assert.ok(
            right === 'undefined' || left === 'undefined' || /^\d+$/.test(right),
            `${file}: a MAC compared outside matchesAny: ${match[0]}`,
          );
      }
    }
  });
});
