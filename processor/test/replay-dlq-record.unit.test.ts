// What a DLQ replay records of what it sent (processor/src/replay/dlq-record.ts): the holes below
// `seen` that say exactly which offsets were not re-sent, how a run's sends change them within
// their bound, how two records merge without going backwards, and their commit-metadata encoding.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplayState } from '../src/replay/dlq-record.ts';
import {
  clip,
  decodeMetadata,
  encodeMetadata,
  MAX_HOLES,
  mergeStored,
  planSends,
  wasSent,
} from '../src/replay/dlq-record.ts';

const state = (over: Partial<ReplayState> = {}): ReplayState => ({
  position: 0n,
  seen: 0n,
  holes: [],
  cursor: 0n,
  ...over,
});

test('sent: below `seen` and outside the holes; never at or above `seen`', () => {
  const s = state({
    seen: 10n,
    holes: [
      [2n, 4n],
      [7n, 8n],
    ],
  });
  const sent = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n].filter((o) => wasSent(s, o));
  assert.deepEqual(sent, [0n, 1n, 4n, 5n, 6n, 8n, 9n]);
});

test('a --tenant run leaves the other tenant a hole, and the next run fills it', () => {
  // 0 and 2 are acme's (sent), 1 is globex's (left alone).
  const first = planSends(state(), [0n, 2n]);
  assert.deepEqual(first, { sendable: 2, seen: 3n, holes: [[1n, 2n]] });
  const second = planSends(state({ seen: first.seen, holes: first.holes }), [1n]);
  assert.deepEqual(second, { sendable: 1, seen: 3n, holes: [] });
});

test('what a run did not read below its first send is a hole: --since past `seen`, a cursor', () => {
  assert.deepEqual(planSends(state({ seen: 5n }), [100n, 101n, 103n]), {
    sendable: 3,
    seen: 104n,
    holes: [
      [5n, 100n],
      [102n, 103n],
    ],
  });
  // A hole that ends at `seen` grows instead of a new one; sent-before offsets change nothing.
  assert.deepEqual(planSends(state({ seen: 10n, holes: [[8n, 10n]] }), [3n, 12n]), {
    sendable: 2,
    seen: 13n,
    holes: [[8n, 12n]],
  });
  // Sending inside a hole splits it; holes below the position are dropped.
  assert.deepEqual(
    planSends(
      state({
        position: 3n,
        seen: 20n,
        holes: [
          [0n, 2n],
          [4n, 10n],
        ],
      }),
      [6n],
    ),
    {
      sendable: 1,
      seen: 20n,
      holes: [
        [4n, 6n],
        [7n, 10n],
      ],
    },
  );
});

test('bounded: a run stops sending before the send that would need one hole too many', () => {
  // Every other offset: each send after the first leaves one more hole.
  const offsets = Array.from({ length: MAX_HOLES + 10 }, (_, k) => BigInt(2 * k + 1));
  const plan = planSends(state(), offsets);
  assert.equal(plan.sendable, MAX_HOLES);
  assert.equal(plan.holes.length, MAX_HOLES);
  assert.equal(plan.seen, BigInt(2 * MAX_HOLES));
  // Full, a send that closes a hole or grows the last one still goes.
  const full = state({ seen: plan.seen, holes: plan.holes });
  assert.deepEqual(planSends(full, [0n]).sendable, 1);
  assert.equal(planSends(full, [0n]).holes.length, MAX_HOLES - 1);
  assert.equal(planSends(full, [plan.seen]).sendable, 1);
  assert.equal(planSends(full, [plan.seen + 1n]).sendable, 0);
});

test('merged with what another run stored: never backwards, and sent by either stays sent', () => {
  const ours = state({ position: 0n, seen: 3n, holes: [[1n, 2n]] });
  const theirs = state({ position: 2n, seen: 10n, holes: [[4n, 6n]] });
  assert.deepEqual(mergeStored(ours, theirs), { position: 2n, seen: 10n, holes: [[4n, 6n]], cursor: 0n });
  // Ours ahead: theirs cannot pull it back; their hole at 4 is below our position.
  assert.deepEqual(
    mergeStored(
      state({ position: 5n, seen: 8n, cursor: 7n }),
      state({ position: 3n, seen: 6n, holes: [[4n, 5n]] }),
    ),
    {
      position: 5n,
      seen: 8n,
      holes: [],
      cursor: 7n,
    },
  );
  // Not sent by either: still a hole.
  assert.deepEqual(
    mergeStored(
      state({ seen: 10n, holes: [[2n, 6n]] }),
      state({
        seen: 12n,
        holes: [
          [4n, 8n],
          [10n, 12n],
        ],
      }),
    )?.holes,
    [
      [4n, 6n],
      [10n, 12n],
    ],
  );
});

test('the commit metadata: round trip, under the broker limit at worst, conservative when unreadable', () => {
  const s = state({
    position: 40n,
    seen: 1_000n,
    holes: [
      [40n, 41n],
      [500n, 900n],
    ],
    cursor: 77n,
  });
  const text = encodeMetadata(s);
  assert.deepEqual({ position: s.position, ...decodeMetadata(text, s.position) }, s);
  // MAX_HOLES holes spread over every offset Kafka has (each number 11 base-36 digits; even at 13,
  // the most a number below 2^63 takes, 2 × MAX_HOLES of them fit): under offset.metadata.max.bytes.
  const step = 2n ** 63n / BigInt(2 * MAX_HOLES + 1);
  const worst = state({
    position: 0n,
    seen: 2n ** 63n - 1n,
    cursor: 2n ** 63n - 1n,
    holes: Array.from(
      { length: MAX_HOLES },
      (_, k) => [BigInt(2 * k + 1) * step, BigInt(2 * k + 2) * step] as const,
    ),
  });
  const worstText = encodeMetadata(worst);
  assert.ok(worstText.length < 4096, `${worstText.length} bytes`);
  assert.deepEqual(decodeMetadata(worstText, 0n).holes, worst.holes);
  // Not ours, or broken: no holes (all below `seen` counts as maybe sent: never twice).
  assert.deepEqual(decodeMetadata('{"seen":"9","holes":"zz,1"}', 0n), { seen: 9n, cursor: 0n, holes: [] });
  assert.deepEqual(decodeMetadata('{"seen":"9","holes":"1"}', 0n).holes, []);
  assert.deepEqual(decodeMetadata('{"seen":"9","holes":"1,1,0,1"}', 0n).holes, [], 'adjacent');
  assert.deepEqual(decodeMetadata('not json', 0n), { seen: 0n, cursor: 0n, holes: [] });
  assert.deepEqual(decodeMetadata(undefined, 0n), { seen: 0n, cursor: 0n, holes: [] });
  // The old format (no holes) reads as before.
  assert.deepEqual(decodeMetadata('{"seen":"9","cursor":"4"}', 0n), { seen: 9n, cursor: 4n, holes: [] });
  assert.deepEqual(
    clip(
      [
        [0n, 3n],
        [3n, 5n],
        [8n, 9n],
      ],
      1n,
      8n,
    ),
    [[1n, 5n]],
  );
});
