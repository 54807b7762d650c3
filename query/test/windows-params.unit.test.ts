// Query parameter validation for the windows endpoint (units): defaults, instants, roll-up sizes
// and the declared windows they read, time zones, filters, cursors and every error named.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { equipmentMetrics, inventoryUpdates } from '@sluice/shared/streams/bakery';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { DEFAULT_LIMIT, DEFAULT_RANGE_MS, encodeCursor, parseWindowsParams } from '../src/windows-params.ts';

const NOW = Date.parse('2026-06-01T12:00:00.250Z');
const NOW_S = Date.parse('2026-06-01T12:00:00Z');
const parse = (q: Record<string, string | string[]>, stream: StreamDefinition = ecommerce) =>
  parseWindowsParams(stream, q, NOW);

test('defaults: the first declared window, the last hour to the second, the whole key, every aggregate', () => {
  const result = parse({});
  assert.ok(result.success);
  const p = result.data;
  assert.equal(p.window, '1m');
  assert.equal(p.source.name, '1m');
  assert.equal(p.rollUp, null);
  assert.equal(p.to, NOW_S);
  assert.equal(p.from, NOW_S - DEFAULT_RANGE_MS);
  assert.deepEqual(p.groupBy, ['product_category']);
  assert.equal(p.filter.size, 0);
  assert.deepEqual(
    p.aggs.map((a) => a.name),
    ecommerce.aggregations.map((a) => a.name),
  );
  assert.equal(p.limit, DEFAULT_LIMIT);
  assert.equal(p.cursor, null);
});

test('instants: RFC 3339, epoch ms and relative; group_by=none; from must precede to', () => {
  const result = parse({ from: '-15m', to: String(NOW - 60_000), group_by: 'none', limit: '10' });
  assert.ok(result.success);
  assert.equal(result.data.from, NOW_S - 15 * 60_000);
  assert.equal(result.data.to, NOW - 60_000);
  assert.deepEqual(result.data.groupBy, []);
  const iso = parse({ from: '2026-06-01T10:00:00Z', to: '2026-06-01T11:00:00+01:00' });
  assert.equal(iso.success, false, 'from must be before to (11:00+01:00 is 10:00Z)');
});

test('roll-ups read the coarsest declared tumbling window that divides them; sessions do not roll up', () => {
  const day = parse({ window: '1d', tz: 'Europe/Paris' });
  assert.ok(day.success);
  assert.equal(day.data.source.name, '1m');
  assert.deepEqual(day.data.rollUp, { sizeMs: 86_400_000, tz: 'Europe/Paris' });
  const hour = parse({ window: '1h', tz: 'Europe/Paris' });
  assert.ok(hour.success);
  assert.deepEqual(hour.data.rollUp, { sizeMs: 3_600_000, tz: undefined }, 'tz shifts day buckets only');
  assert.equal(parse({ window: '90s' }).success, false);
  const sessions = parse({ window: 'session:10m', group_by: 'none' }, equipmentMetrics);
  assert.equal(sessions.success, false);
  assert.ok(parse({ window: 'session:10m' }, equipmentMetrics).success);
});

test('filters on key fields, repeatable; group_by a part of a composite key; cursors round-trip', () => {
  const result = parse(
    {
      filter: ['store_id=s1', 'store_id=s2', 'product=bread'],
      group_by: 'store_id',
      cursor: encodeCursor({ start: 5, key: 'k' }),
    },
    inventoryUpdates,
  );
  assert.ok(result.success);
  assert.deepEqual([...(result.data.filter.get('store_id') ?? [])], ['s1', 's2']);
  assert.deepEqual([...(result.data.filter.get('product') ?? [])], ['bread']);
  assert.deepEqual(result.data.groupBy, ['store_id']);
  assert.deepEqual(result.data.cursor, { start: 5, key: 'k' });
});

test('unknown keys, filters, aggregates, zones, cursors, limits and times are all reported', () => {
  const result = parse({
    window: '90s',
    group_by: 'user_id',
    limit: '0',
    from: 'yesterday',
    filter: 'color=red',
    aggs: 'count,nope',
    tz: 'Mars/Olympus',
    cursor: 'not-a-cursor',
  });
  assert.equal(result.success, false);
  if (result.success) return;
  assert.deepEqual(result.error.issues.map((i) => i.path.join('.')).sort(), [
    'aggs',
    'cursor',
    'filter',
    'from',
    'group_by',
    'limit',
    'tz',
    'window',
  ]);
  const wide = parse({ from: '0' });
  assert.equal(wide.success, false, 'a range of more than 100,000 windows is refused');
});
