// Which streams a processor fleet handles: the built-in registry by default, narrowed by name, or a
// deployment's own module; an unknown name or a module without STREAMS fails at start.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { streamsInUse } from '../src/streams-in-use.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('every declared stream by default, or just the ones named', async () => {
  const all = await streamsInUse({ names: [], module: undefined });
  assert.deepEqual(
    all.map((s) => s.name),
    ['ecommerce', 'sales-events', 'equipment-metrics', 'inventory-updates', 'webhooks'],
  );
  const some = await streamsInUse({ names: ['inventory-updates', 'ecommerce'], module: undefined });
  assert.deepEqual(
    some.map((s) => s.name),
    ['inventory-updates', 'ecommerce'],
  );
});

test('an unknown stream name fails, naming it and the declared ones', async () => {
  await assert.rejects(
    streamsInUse({ names: ['ecommerce', 'nope'], module: undefined }),
    /unknown streams: nope \(declared: ecommerce, /,
  );
});

test("a deployment's own module replaces the registry; one without STREAMS fails", async () => {
  const [session] = await streamsInUse({ names: [], module: `${ROOT}bench/streams/session.ts` });
  assert.equal(session?.windows[0]?.name, 'session:30s');
  assert.deepEqual(session?.keyBy, ['user_id']);
  await assert.rejects(
    streamsInUse({ names: [], module: `${ROOT}bench/streams/variants.ts` }),
    /must export STREAMS/,
  );
});
