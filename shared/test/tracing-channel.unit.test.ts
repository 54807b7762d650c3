// ioredis 6 traces a command (a context object with every argument turned into a string, a
// wrapping promise) unless its diagnostics channel says `hasSubscribers === false`. Bun 1.4's
// TracingChannel has no `hasSubscribers`, so on Bun every command was traced with nobody
// listening: a String() of each EVALSHA's packed claim buffer, ~1.5 % of the processor's CPU, and a
// cost on every cache read of the query service. Anything that makes a Redis client
// (shared/src/redis/client.ts) gives Bun Node's definition first; run here on Bun itself.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT } from '../../tools/services/launch.ts';
import { runCommand } from './run-command.ts';

const PROBE = `
import dc from 'node:diagnostics_channel';
await import(${JSON.stringify(`${ROOT}shared/src/redis/client.ts`)});
const channel = dc.tracingChannel('ioredis:command');
const before = channel.hasSubscribers;
const listener = () => {};
dc.subscribe('tracing:ioredis:command:asyncEnd', listener);
const during = channel.hasSubscribers;
dc.unsubscribe('tracing:ioredis:command:asyncEnd', listener);
console.log(JSON.stringify({ before, during, after: channel.hasSubscribers }));
`;

test('on Bun, a tracing channel nobody listens to says so, as on Node', async () => {
  const { code, output } = await runCommand('bun', ['--eval', PROBE]);
  assert.equal(code, 0, output);
  assert.deepEqual(JSON.parse(output.trim().split('\n').at(-1) ?? ''), {
    before: false,
    during: true,
    after: false,
  });
});
