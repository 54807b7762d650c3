// A stream's window retention (how long its windows stay in PostgreSQL, issue 26): for good unless
// declared, and never as short as its allowed lateness, since an amendment arriving within the
// lateness must find its window still stored (guarantee 3).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineStream, tumbling } from '@sluice/shared/streams/define';
import { durationMs } from '@sluice/shared/streams/duration';
import { z } from 'zod';

const input = {
  name: 'retained',
  description: 'test',
  partitions: 1,
  schema: z.object({ k: z.string() }),
  keyBy: ['k'] as const,
  windows: [tumbling('1m')],
  aggregations: [],
  watermark: '1m' as const,
  allowedLateness: '2d' as const,
};

test('kept for good unless declared; a declared retention is kept', () => {
  assert.equal(defineStream(input).windowRetentionMs, null);
  assert.equal(defineStream({ ...input, windowRetention: '90d' }).windowRetentionMs, durationMs('90d'));
  assert.equal(defineStream({ ...input, windowRetention: '14d' }).windowRetentionMs, 14 * 86_400_000);
});

test('a retention no longer than the allowed lateness is refused, naming both', () => {
  assert.throws(
    () => defineStream({ ...input, windowRetention: '2d' }),
    /windowRetention must be longer than allowedLateness/,
  );
  assert.throws(() => defineStream({ ...input, windowRetention: '1d' }), /windowRetention/);
});
