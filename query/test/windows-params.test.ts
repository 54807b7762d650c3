// Query parameter validation for the windows endpoint.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { DEFAULT_RANGE_MS, parseWindowsParams } from '../src/windows-params.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const parse = (q: Record<string, string>) => parseWindowsParams(ecommerce, q, NOW);

test('defaults: the first declared window, the last hour, grouped by the stream key', () => {
  const result = parse({});
  assert.ok(result.success);
  assert.deepEqual(result.data, {
    window: '1m',
    from: NOW - DEFAULT_RANGE_MS,
    to: NOW,
    groupBy: 'product_category',
    limit: 1000,
  });
});

test('from and to accept RFC 3339, epoch ms and relative times; group_by=none rolls up', () => {
  const result = parse({ from: '-15m', to: String(NOW - 60_000), group_by: 'none', limit: '10' });
  assert.ok(result.success);
  assert.equal(result.data.from, NOW - 15 * 60_000);
  assert.equal(result.data.to, NOW - 60_000);
  assert.equal(result.data.groupBy, null);
  const iso = parse({ from: '2026-06-01T10:00:00Z', to: '2026-06-01T11:00:00+01:00' });
  assert.equal(iso.success, false, 'from must be before to (11:00+01:00 is 10:00Z)');
});

test('unknown windows, keys, limits and unparseable times are all reported', () => {
  const result = parse({ window: '7m', group_by: 'user_id', limit: '0', from: 'yesterday' });
  assert.equal(result.success, false);
  if (result.success) return;
  assert.deepEqual(result.error.issues.map((i) => i.path.join('.')).sort(), [
    'from',
    'group_by',
    'limit',
    'window',
  ]);
});
