// Window assignment: tumbling windows are [start, start + size) aligned to the epoch; hopping
// windows are every size-long window on the slide grid that contains the event.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tumbling } from '@sluice/shared/streams/define';
import { assignWindows } from '../src/windows/assign.ts';

const minute = tumbling('1m');
const t0 = Date.parse('2026-01-01T10:00:00.000Z');

test('an event belongs to exactly the tumbling window that contains it', () => {
  assert.deepEqual(assignWindows(minute, t0), [{ start: t0, end: t0 + 60_000 }]);
  assert.deepEqual(assignWindows(minute, t0 + 59_999), [{ start: t0, end: t0 + 60_000 }]);
  assert.deepEqual(assignWindows(minute, t0 + 60_000), [{ start: t0 + 60_000, end: t0 + 120_000 }]);
  assert.deepEqual(assignWindows(minute, t0 - 1), [{ start: t0 - 60_000, end: t0 }]);
});

test('hopping windows of 5m sliding by 1m: five windows contain each event', () => {
  const hop = { kind: 'hopping' as const, name: '5m/1m', sizeMs: 300_000, slideMs: 60_000 };
  const windows = assignWindows(hop, t0 + 30_000);
  assert.equal(windows.length, 5);
  for (const w of windows) {
    assert.ok(w.start <= t0 + 30_000 && t0 + 30_000 < w.end);
    assert.equal(w.end - w.start, 300_000);
    assert.equal(w.start % 60_000, 0);
  }
});
