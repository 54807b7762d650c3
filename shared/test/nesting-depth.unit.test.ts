// The nesting bound at intake (guarantee 5: a deep document costs a bounded walk, and a stack
// no deeper than the bound): an event nesting objects or arrays to the limit is judged on, one
// level more is a per-event 400, wherever the nesting is.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateItem } from '@sluice/shared/events/validate';
import { streamRegistry } from '@sluice/shared/streams/registry';
import { ecommerceEvent, NOW, verdictOf } from './verdict.ts';

const LIMIT = 32; // verdictOf's maxDepth
const objects = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: objects(levels - 1) });
const arrays = (levels: number): unknown => (levels === 0 ? 0 : [arrays(levels - 1)]);
const mixed = (levels: number): unknown =>
  levels === 0 ? null : levels % 2 === 0 ? { k: mixed(levels - 1), n: 1 } : [1, mixed(levels - 1), 'x'];

test('an event is refused from the first container at depth 32 (the event itself at 0), in data or the envelope', () => {
  for (const [name, nest] of [
    ['objects', objects],
    ['arrays', arrays],
    ['mixed', mixed],
  ] as const) {
    // data sits at depth 1, so `levels` containers under data.extra reach depth levels + 1.
    for (let levels = LIMIT - 4; levels <= LIMIT + 2; levels++) {
      const inData = verdictOf(ecommerceEvent({ extra: nest(levels) }));
      const inEnvelope = verdictOf(ecommerceEvent({}, { extension: nest(levels + 1) }));
      for (const [where, verdict] of [
        ['data', inData],
        ['envelope', inEnvelope],
      ] as const) {
        const deep = levels + 1 >= LIMIT;
        if (deep) {
          assert.equal(verdict.ok, false, `${name} ${levels} in ${where}`);
          if (!verdict.ok)
            assert.match(verdict.rejection.errors[0]?.message ?? '', /nests deeper than 32 levels/);
        } else if (!verdict.ok) {
          assert.doesNotMatch(
            verdict.rejection.errors[0]?.message ?? '',
            /nests deeper/,
            `${name} ${levels} in ${where}`,
          );
        }
      }
    }
  }
});

test('a document thousands of levels deep is refused without exhausting the stack', () => {
  let value: unknown = 'leaf';
  for (let i = 0; i < 100_000; i++) value = [value];
  // Not through verdictOf: JSON.stringify itself recurses, and runs out of stack at this depth.
  const verdict = validateItem(
    { index: 0, value: ecommerceEvent({ extra: value }), bytes: 200_000 },
    { registry: streamRegistry(), now: NOW, maxEventBytes: 1 << 20, maxDepth: LIMIT, newId: () => 'g' },
  );
  assert.equal(verdict.ok, false);
});
