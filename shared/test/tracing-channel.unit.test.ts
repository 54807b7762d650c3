// ioredis 6 traces a command (a context object with every argument turned into a string, a
// wrapping promise) unless its diagnostics channel says `hasSubscribers === false`. Bun 1.4's
// TracingChannel has no `hasSubscribers`, so on Bun every command was traced with nobody
// listening: a String() of each EVALSHA's packed claim buffer, ~1.5 % of the processor's CPU, and a
// cost on every cache read of the query service (pino does the same per log line). The modules
// that make a Redis client or a logger give Bun Node's definition first; run here on Bun itself.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT } from '../../tools/services/launch.ts';
import { runCommand } from './run-command.ts';

const probe = (module: string) => `
import dc from 'node:diagnostics_channel';
await import(${JSON.stringify(`${ROOT}${module}`)});
const channel = dc.tracingChannel('ioredis:command');
const before = channel.hasSubscribers;
const listener = () => {};
dc.subscribe('tracing:ioredis:command:asyncEnd', listener);
const during = channel.hasSubscribers;
dc.unsubscribe('tracing:ioredis:command:asyncEnd', listener);
console.log(JSON.stringify({ before, during, after: channel.hasSubscribers }));
`;

for (const module of ['shared/src/redis/client.ts', 'shared/src/log.ts'])
  test(`on Bun, once ${module} is loaded, a tracing channel nobody listens to says so, as on Node`, async () => {
    const { code, output } = await runCommand('bun', ['--eval', probe(module)]);
    assert.equal(code, 0, output);
    assert.deepEqual(JSON.parse(output.trim().split('\n').at(-1) ?? ''), {
      before: false,
      during: true,
      after: false,
    });
  });
