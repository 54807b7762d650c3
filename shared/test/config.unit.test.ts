// Unit tests of configuration parsing: every problem is listed at once, --check-config exits 0.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { databaseUrlEnv, kafkaBrokersEnv, loadConfig, parseConfig, portEnv } from '../src/config.ts';

const schema = z.object({
  SLUICE_PORT: portEnv(8080),
  SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
  SLUICE_DATABASE_URL: databaseUrlEnv,
});

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

function capture(argv: string[], env: Record<string, string>) {
  const lines: string[] = [];
  const run = () =>
    loadConfig('sluice-test', schema, {
      argv,
      env,
      write: (line) => lines.push(line),
      exit: (code) => {
        throw new Exit(code);
      },
    });
  return { run, lines };
}

test('defaults fill an empty environment', () => {
  const result = parseConfig(schema, {});
  assert.ok(result.ok);
  assert.equal(result.value.SLUICE_PORT, 8080);
  assert.deepEqual(result.value.SLUICE_KAFKA_BROKERS, ['127.0.0.1:9092']);
});

test('every invalid variable is reported, not just the first', () => {
  const result = parseConfig(schema, {
    SLUICE_PORT: '70000',
    SLUICE_KAFKA_BROKERS: 'no-port',
    SLUICE_DATABASE_URL: 'mysql://x',
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const vars = result.error.map((line) => line.split(/[.:]/)[0]);
  assert.deepEqual(vars.sort(), ['SLUICE_DATABASE_URL', 'SLUICE_KAFKA_BROKERS', 'SLUICE_PORT']);
});

test('loadConfig exits 1 listing the problems', () => {
  const { run, lines } = capture([], { SLUICE_PORT: 'abc' });
  assert.throws(run, (e: unknown) => e instanceof Exit && e.code === 1);
  assert.match(lines[0] ?? '', /invalid configuration \(1 problem/);
  assert.match(lines[1] ?? '', /SLUICE_PORT/);
});

test('--check-config validates and exits 0 without starting anything', () => {
  const { run, lines } = capture(['--check-config'], {});
  assert.throws(run, (e: unknown) => e instanceof Exit && e.code === 0);
  assert.deepEqual(lines, ['sluice-test: configuration ok']);
});
