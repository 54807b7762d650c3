// The query service's configuration of kept hours (SLUICE_QUERY_BUCKET_ROWS, bucket-rows.ts):
// the default, 0 to turn them off, and the worst values refused at start (guarantee 5: the bound
// on what is kept is never absent, negative or beyond what a process can hold).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '@sluice/shared/config';
import { DEFAULT_BUCKET_ROWS } from '../src/bucket-rows.ts';
import { queryConfigSchema } from '../src/config.ts';

const bucketRows = (value: string | undefined) => {
  const parsed = parseConfig(
    queryConfigSchema,
    value === undefined ? {} : { SLUICE_QUERY_BUCKET_ROWS: value },
  );
  return parsed.ok ? parsed.value.cache.bucketRows : parsed.error;
};

test('kept hours: the default (also for an empty value), and 0 to keep none', () => {
  assert.equal(bucketRows(undefined), DEFAULT_BUCKET_ROWS);
  assert.equal(bucketRows(''), DEFAULT_BUCKET_ROWS);
  assert.equal(bucketRows('0'), 0);
  assert.equal(bucketRows('5000'), 5_000);
});

test('kept hours: a negative, fractional, huge or non-numeric bound is refused', () => {
  for (const value of ['-1', '1.5', '10000001', '1e309', 'NaN', 'lots', ' ', '1 2']) {
    const refused = bucketRows(value);
    assert.ok(Array.isArray(refused), `${value} accepted as ${String(refused)}`);
    assert.match(refused.join('\n'), /SLUICE_QUERY_BUCKET_ROWS/, value);
  }
});
