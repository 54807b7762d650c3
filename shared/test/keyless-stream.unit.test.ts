// A stream may declare no keyBy field: one group for all its events (Flink's windowAll, a constant
// key in Kafka Streams). Intake gives every event the same key, so they share one partition and
// one window row per window, whatever their payloads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupKey } from '@sluice/shared/events/validate';
import { count, defineStream, tumbling } from '@sluice/shared/streams/define';
import { z } from 'zod';

const input = {
  description: 'test',
  partitions: 3,
  schema: z.object({ k: z.string(), n: z.number() }),
  windows: [tumbling('10s')],
  aggregations: [count()],
  watermark: '1s',
  allowedLateness: '10s',
} as const;
const keyless = defineStream({ ...input, name: 'keyless', keyBy: [] });

test('a keyless stream gives every event one key', () => {
  assert.deepEqual(keyless.keyBy, []);
  const keys = new Set([{ k: 'a', n: 1 }, { k: 'b', n: 2 }, {}].map((data) => groupKey(keyless, data)));
  assert.deepEqual([...keys], ['[]']);
});

test('a keyed stream still keys by its fields', () => {
  const keyed = defineStream({ ...input, name: 'keyed', keyBy: ['k'] });
  assert.equal(groupKey(keyed, { k: 'a', n: 1 }), 'a');
  assert.notEqual(groupKey(keyed, { k: 'a' }), groupKey(keyed, { k: 'b' }));
});
