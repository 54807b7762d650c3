// The producer's key partitioner (kafka/platformatic/partitioner.ts) is Kafka's: the Java client's
// own murmur2 cases (UtilsTest.testMurmur2), and over arbitrary keys the value @platformatic/kafka's
// compatibilityPartitioner gives, so a key's partition does not depend on which code hashed it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compatibilityPartitioner, murmur2 as libraryMurmur2 } from '@platformatic/kafka';
import fc from 'fast-check';
import { keyPartitioner, murmur2 } from '../src/kafka/platformatic/partitioner.ts';

test("the Java client's murmur2 cases", () => {
  const cases: [string | number[], number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    [[0x61, 0x62, 0x63], 479470107],
  ];
  for (const [input, expected] of cases) {
    const bytes = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input);
    assert.equal(murmur2(bytes), expected, String(input));
  }
});

test("every key gets the library's partition (bytes of any length, UTF-8 keys, high bytes)", () => {
  const message = { topic: 't' };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 70 }).map((bytes) => Buffer.from(bytes)),
        fc.string({ unit: 'grapheme', maxLength: 40 }).map((text) => Buffer.from(text)),
      ),
      (key) => {
        assert.equal(murmur2(key), libraryMurmur2(key));
        assert.equal(keyPartitioner(message, key), compatibilityPartitioner(message, key));
      },
    ),
    { numRuns: 5_000 },
  );
  assert.equal(keyPartitioner(message, undefined), compatibilityPartitioner(message, undefined));
});
