// The order of a range's reads (read-range.ts; guarantee 3): the watermark is read, and answered,
// before the rows are asked for, and the rows' read is handed that watermark. Read in parallel, a
// window committed settled between the two reads could be missing from an answer called complete,
// and kept hours (bucket-rows.ts) could keep an hour short of it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { readRange } from '../src/read-range.ts';
import type { WindowsQuery, WindowsRepo } from '../src/windows-repo.ts';

test('the watermark is read before the rows, and the rows read is given it', async () => {
  const events: string[] = [];
  let asked: WindowsQuery | undefined;
  const repo: WindowsRepo = {
    async watermark() {
      events.push('watermark asked');
      await new Promise((resolve) => setTimeout(resolve, 20));
      events.push('watermark answered');
      return 1_000_000;
    },
    async windows(q) {
      events.push('rows asked');
      asked = q;
      return [];
    },
    partitions: async () => [],
  };
  const read = await readRange(
    { repo, group: 'g', topicPrefix: '' },
    { tenant: 'default', stream: ecommerce, window: '1m', from: 0, to: 60_000, stateOf: null },
  );
  assert.ok(read.ok);
  assert.equal(read.value.watermark, 1_000_000);
  assert.deepEqual(events, ['watermark asked', 'watermark answered', 'rows asked']);
  assert.equal(asked?.settledBefore, 1_000_000);
});
