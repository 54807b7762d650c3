// The test runner's tiers come from file names (tools/test-tiers.ts): a drill never runs beside
// the files whose services it stops, and a test file that names no tier is caught, not skipped.

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../../tools/services/launch.ts';
import { DEFAULT_TIERS, schedule, tierOf } from '../../../tools/test-tiers.ts';

test('the tier is the word before .test.ts, and nothing else counts', () => {
  assert.equal(tierOf('processor/test/assign.unit.test.ts'), 'unit');
  assert.equal(tierOf('e2e/test/pipeline.integration.test.ts'), 'integration');
  assert.equal(tierOf('ingest/test/kafka-outage.drill.test.ts'), 'drill');
  assert.equal(tierOf('processor/test/cluster-failures.cluster.test.ts'), 'cluster');
  assert.equal(tierOf('processor/test/windows.property.unit.test.ts'), 'unit');
  assert.equal(tierOf('processor/test/assign.test.ts'), undefined);
  assert.equal(tierOf('processor/test/unit.test.ts'), undefined);
  assert.equal(tierOf('processor/test/drill.integration.ts'), undefined);
});

test('drills run alone after the rest; untiered files are reported; unwanted tiers are left out', () => {
  const files = [
    'b.drill.test.ts',
    'a.integration.test.ts',
    'c.unit.test.ts',
    'd.test.ts',
    'a.drill.test.ts',
  ];
  assert.deepEqual(schedule(files), {
    concurrent: ['a.integration.test.ts', 'c.unit.test.ts'],
    alone: ['a.drill.test.ts', 'b.drill.test.ts'],
    untiered: ['d.test.ts'],
  });
  assert.deepEqual(schedule(files, ['unit']), {
    concurrent: ['c.unit.test.ts'],
    alone: [],
    untiered: ['d.test.ts'],
  });
});

test('cluster drills run alone, and only when asked: a run without tiers leaves them out', () => {
  const files = ['a.cluster.test.ts', 'b.drill.test.ts', 'c.unit.test.ts'];
  assert.deepEqual(schedule(files, DEFAULT_TIERS), {
    concurrent: ['c.unit.test.ts'],
    alone: ['b.drill.test.ts'],
    untiered: [],
  });
  assert.deepEqual(schedule(files, ['cluster']), {
    concurrent: [],
    alone: ['a.cluster.test.ts'],
    untiered: [],
  });
});

test('every test file in the repository names its tier', async () => {
  const untiered: string[] = [];
  for (const top of ['shared', 'edge', 'ingest', 'processor', 'query', 'e2e', 'deploy', 'client']) {
    for (const entry of await readdir(join(ROOT, top), { recursive: true, withFileTypes: true })) {
      const path = relative(ROOT, join(entry.parentPath, entry.name));
      if (path.includes('node_modules') || !path.endsWith('.test.ts')) continue;
      if (tierOf(path) === undefined) untiered.push(path);
    }
  }
  assert.deepEqual(untiered, []);
});
