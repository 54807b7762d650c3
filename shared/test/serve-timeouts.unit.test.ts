// A request's answer deadline on Bun (serve.ts's answerWithinMs): Bun's per-request timeout takes
// whole seconds, 1 to 255. A deadline is rounded up (never cut shorter than the handler's own
// deadlines: guarantee 1, the client gets its 408 or 503), and one Bun cannot keep is refused at
// start with the deadlines to lower, never clamped silently. The refusal is also checked on Bun
// itself, through serveHttp, as ingest starts it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT } from '../../tools/services/launch.ts';
import { bunAnswerSeconds } from '../src/http/serve.ts';
import { runCommand } from './run-command.ts';

test('an answer deadline becomes whole seconds, rounded up, 1 to 255', () => {
  assert.equal(bunAnswerSeconds(1), 1);
  assert.equal(bunAnswerSeconds(1_000), 1);
  assert.equal(bunAnswerSeconds(1_001), 2);
  assert.equal(bunAnswerSeconds(36_000), 36);
  assert.equal(bunAnswerSeconds(255_000), 255);
});

test('an answer deadline Bun cannot keep is refused, naming the deadlines to lower', () => {
  for (const ms of [0, -1, 255_001, 300_000, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(
      () => bunAnswerSeconds(ms),
      /1 to 255 s .*lower the body read and produce deadlines/,
      `${ms}`,
    );
});

/** Starts serveHttp on Bun with `answerWithinMs`, stops it, and says what happened. */
const onBun = (answerWithinMs: number) =>
  runCommand(
    'bun',
    [
      '-e',
      `import { serveHttp } from './shared/src/http/serve.ts';
       const server = await serveHttp(() => new Response('ok'), { hostname: '127.0.0.1', port: 0, answerWithinMs: ${answerWithinMs} });
       await server.close();
       console.log('served on ' + server.runtime);`,
    ],
    { cwd: ROOT },
  );

test('on Bun, serveHttp starts with 255 s and refuses 300 s at start', async () => {
  const kept = await onBun(255_000);
  assert.equal(kept.code, 0, kept.output);
  assert.match(kept.output, /served on bun/);
  const refused = await onBun(300_000);
  assert.notEqual(refused.code, 0);
  assert.match(refused.output, /on Bun a request can be given 1 to 255 s to be answered, not 300000 ms/);
});
