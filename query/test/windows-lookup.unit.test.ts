// The windows lookup (units): kept parses are bounded (guarantee 5), the least recently asked
// going first; an invalid query string is not kept; a kept query's resolution is reused only for
// the same range, and a relative range resolves anew as the clock moves on. The time-zone
// formatters (keyed by the client's tz) and the LRU under both keep their bound too.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lru } from '@sluice/shared/lru';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { canonicalTimeZone, KEPT_FORMATTERS, keptFormatters } from '@sluice/shared/time-zone';
import { bucketStart, DAY_MS } from '../src/time-buckets.ts';
import { KEPT_QUERIES, requestTarget, windowsLookup } from '../src/windows-lookup.ts';

const target = (i: number) => `/v1/streams/ecommerce/windows?limit=${1 + (i % 10)}&n=${i}`;

test('kept parses are bounded, the least recently asked first out; invalid ones are not kept', () => {
  const lookup = windowsLookup('p:');
  for (let i = 0; i < KEPT_QUERIES; i += 1)
    assert.ok(lookup.parse('default', target(i), ecommerce, {}).success);
  assert.ok(lookup.kept('default', target(0)), 'asked again: now the most recent');
  for (let i = KEPT_QUERIES; i < KEPT_QUERIES + 10; i += 1) lookup.parse('default', target(i), ecommerce, {});
  assert.ok(lookup.kept('default', target(0)));
  for (let i = 1; i <= 10; i += 1)
    assert.equal(lookup.kept('default', target(i)), undefined, `${i} went first`);
  for (let i = 11; i < KEPT_QUERIES + 10; i += 1) assert.ok(lookup.kept('default', target(i)));
  // Many more: still no more than the bound.
  for (let i = 0; i < 3 * KEPT_QUERIES; i += 1) lookup.parse('default', target(10_000 + i), ecommerce, {});
  let kept = 0;
  for (let i = 0; i < 3 * KEPT_QUERIES; i += 1)
    if (lookup.kept('default', target(10_000 + i)) !== undefined) kept += 1;
  assert.equal(kept, KEPT_QUERIES);

  const invalid = lookup.parse('default', '/bad', ecommerce, { limit: 'many' });
  assert.equal(invalid.success, false);
  assert.equal(lookup.kept('default', '/bad'), undefined);
});

test('a resolution is reused for the same range only; a relative range moves with the clock', () => {
  const lookup = windowsLookup('p:');
  const now = Date.parse('2026-06-01T12:00:00.250Z');
  const absolute = lookup.parse('default', '/a', ecommerce, {
    from: String(now - 3_600_000),
    to: String(now),
  });
  const relative = lookup.parse('default', '/r', ecommerce, { from: '-15m', to: 'now' });
  assert.ok(absolute.success && relative.success);
  const first = lookup.resolve(absolute.data, now);
  const later = lookup.resolve(absolute.data, now + 5_000);
  assert.ok(first.success && later.success);
  assert.equal(later.data, first.data, 'an absolute range resolves once');
  const r1 = lookup.resolve(relative.data, now);
  const sameSecond = lookup.resolve(relative.data, now + 500);
  const nextSecond = lookup.resolve(relative.data, now + 1_000);
  assert.ok(r1.success && sameSecond.success && nextSecond.success);
  assert.equal(sameSecond.data, r1.data);
  assert.notEqual(nextSecond.data.request.key, r1.data.request.key);
  assert.equal(nextSecond.data.params.to - r1.data.params.to, 1_000);
  assert.notEqual(r1.data.request.key, first.data.request.key);
});

test('a request target is the path and query string as sent', () => {
  assert.equal(
    requestTarget('http://127.0.0.1:8081/v1/streams/x/windows?a=1&b=%20'),
    '/v1/streams/x/windows?a=1&b=%20',
  );
  assert.equal(requestTarget('http://h/'), '/');
});

test('time-zone formatters are bounded: every zone of the runtime asked for, no more than the bound kept', () => {
  const zones = Intl.supportedValuesOf('timeZone');
  assert.ok(zones.length > KEPT_FORMATTERS, `${zones.length} zones to ask for`);
  const t = Date.parse('2026-06-01T12:00:00Z');
  for (const tz of zones) {
    const start = bucketStart(t, { sizeMs: DAY_MS, tz });
    assert.ok(Number.isFinite(start) && start <= t, tz);
  }
  assert.equal(keptFormatters(), KEPT_FORMATTERS);
  // Spellings of a zone are one zone, and one that is not a zone is kept nowhere.
  assert.equal(canonicalTimeZone('europe/paris'), 'Europe/Paris');
  assert.equal(canonicalTimeZone('Mars/Olympus'), undefined);
  assert.equal(canonicalTimeZone('x'.repeat(10_000)), undefined);
});

test('the LRU under every cache keyed by client input keeps its bound, most recently used last out', () => {
  const cache = lru<string, number>(3);
  for (let i = 0; i < 10_000; i += 1) cache.set(`k${i}`, i);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('k9997'), 9997);
  cache.set('new', 1);
  assert.equal(cache.get('k9998'), undefined, 'the least recently used went first');
  assert.equal(cache.get('k9997'), 9997);
});

test('two tenants asking the same target keep two parses and never share a cache key', () => {
  const lookup = windowsLookup('p:');
  const now = Date.parse('2026-06-01T12:00:00Z');
  const target = '/v1/streams/ecommerce/windows?from=-15m';
  const a = lookup.parse('tenant-a', target, ecommerce, { from: '-15m' });
  assert.ok(a.success);
  assert.equal(lookup.kept('tenant-b', target), undefined, "tenant-b does not find tenant-a's parse");
  const b = lookup.parse('tenant-b', target, ecommerce, { from: '-15m' });
  assert.ok(b.success);
  assert.equal(lookup.kept('tenant-a', target), a.data);
  assert.equal(lookup.kept('tenant-b', target), b.data);
  const ra = lookup.resolve(a.data, now);
  const rb = lookup.resolve(b.data, now);
  assert.ok(ra.success && rb.success);
  assert.notEqual(ra.data.request.key, rb.data.request.key);
  assert.equal(ra.data.request.scope.tenant, 'tenant-a');
  assert.equal(rb.data.request.scope.tenant, 'tenant-b');
  assert.notDeepEqual(ra.data.request.generationKeys, rb.data.request.generationKeys);
});
