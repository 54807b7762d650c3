// The classification of store failures (issue 20 item 3): what the data causes is never retried as
// is, what an outage causes always is, and anything unknown counts as an outage.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asStep, classifyFailure, printable, StoreFailure } from '../src/commit/failure-kind.ts';

/** An error as postgres.js throws it (a SQLSTATE in `code`), wrapped as drizzle wraps it. */
function pgError(code: string, message: string, wrapped = true): Error {
  const driver = Object.assign(new Error(message), { code, severity: 'ERROR' });
  return wrapped ? new Error('Failed query: insert into windows ...', { cause: driver }) : driver;
}

test('PostgreSQL data exceptions, integrity violations and program limits are the data', () => {
  for (const [code, message] of [
    ['22P05', 'unsupported Unicode escape sequence'],
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
    ['22003', 'numeric field overflow'],
    ['23505', 'duplicate key value violates unique constraint "windows_pkey"'],
    ['23502', 'null value in column "key" violates not-null constraint'],
    ['54000', 'index row size 3016 exceeds btree version 4 maximum 2704 for index "windows_pkey"'],
  ] as const) {
    const failure = classifyFailure(pgError(code, message), 'sink');
    assert.equal(failure.kind, 'data', code);
    assert.equal(failure.retryable, false);
    assert.equal(failure.step, 'sink');
    assert.match(failure.reason, new RegExp(`SQLSTATE ${code}`));
    assert.ok(failure.reason.includes(message), 'the driver message, not the wrapper, is the reason');
  }
});

test('PostgreSQL outages are retried: connection, resources, shutdown, serialization, deadlock, timeouts', () => {
  for (const [code, cause] of [
    ['08006', 'connection'],
    ['08001', 'connection'],
    ['53100', 'resources'],
    ['53300', 'resources'],
    ['57P01', 'shutdown'],
    ['57P03', 'shutdown'],
    ['40001', 'serialization'],
    ['40P01', 'serialization'],
    ['57014', 'timeout'],
    ['XX000', 'unknown'],
  ] as const) {
    const failure = classifyFailure(pgError(code, 'x', false), 'sink');
    assert.equal(failure.kind, 'outage', code);
    assert.equal(failure.retryable, true);
    assert.equal(failure.kind === 'outage' ? failure.cause : undefined, cause, code);
  }
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const failure = classifyFailure(refused, 'sink');
  assert.deepEqual([failure.kind, failure.kind === 'outage' && failure.cause], ['outage', 'connection']);
  const timeout = classifyFailure(new Error('write CONNECT_TIMEOUT 127.0.0.1:5432'), 'sink');
  assert.deepEqual([timeout.kind, timeout.kind === 'outage' && timeout.cause], ['outage', 'timeout']);
});

test('Redis: a full, loading or read-only Redis is an outage; cjson refusing the data is the data', () => {
  const outages = [
    ["OOM command not allowed when used memory > 'maxmemory'.", 'oom'],
    [
      "ERR Error running script (call to f_1): @user_script:40: @user_script: 40: -OOM command not allowed when used memory > 'maxmemory'.",
      'oom',
    ],
    ['LOADING Redis is loading the dataset in memory', 'loading'],
    ["READONLY You can't write against a read only replica.", 'readonly'],
    ['BUSY Redis is busy running a script.', 'busy'],
    ['Connection is closed.', 'connection'],
    ["Stream isn't writeable and enableOfflineQueue options is false", 'connection'],
    ['Reached the max retries per request limit (which is 1).', 'connection'],
    ['connect ECONNREFUSED 127.0.0.1:6379', 'connection'],
    ['Command timed out', 'timeout'],
    ['ERR something new', 'unknown'],
  ] as const;
  for (const step of ['state', 'dedup'] as const) {
    for (const [message, cause] of outages) {
      const failure = classifyFailure(new Error(message), step);
      assert.equal(failure.kind, 'outage', message);
      assert.equal(failure.kind === 'outage' ? failure.cause : undefined, cause, message);
      assert.equal(failure.step, step);
    }
  }
  for (const message of [
    'ERR user_script:2: Expected value but found invalid token at character 1 script: ...',
    'ERR Error running script (call to f_1): @user_script:2: cjson.decode: invalid UTF-8 string',
    'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  ]) {
    const failure = classifyFailure(new Error(message), 'dedup');
    assert.equal(failure.kind, 'data', message);
    assert.equal(failure.retryable, false);
  }
});

test('asStep names the step of a failed call and keeps a classification already made', async () => {
  const thrown = await asStep('sink', () => Promise.reject(pgError('54000', 'index row size'))).catch(
    (error: unknown) => error,
  );
  assert.ok(thrown instanceof StoreFailure);
  assert.deepEqual([thrown.failure.kind, thrown.failure.step], ['data', 'sink']);
  const kept = await asStep('state', () => Promise.reject(thrown)).catch((error: unknown) => error);
  assert.equal(kept, thrown);
  assert.equal(await asStep('dedup', () => Promise.resolve(7)), 7);
});

test('printable escapes control characters and bounds what a log line or header carries', () => {
  assert.equal(printable('a\u0000b\nc"'), 'a\\u0000b\\nc\\"');
  const long = printable('x'.repeat(10_000), 100);
  assert.ok(long.length <= 101 && long.endsWith('…'));
});
