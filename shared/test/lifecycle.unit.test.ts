// Graceful drain (guarantee 6) in a real child process: SIGTERM runs the stop function once and
// exits 0; a drain that fails, or that never finishes within its timeout, ends the process anyway
// (SIGKILL: process.exit would wait on a native call stuck in libuv's thread pool).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LIFECYCLE = fileURLToPath(new URL('../src/lifecycle.ts', import.meta.url));

/** A process whose drain does `stop` (JavaScript source of an async function body). */
async function drain(
  stop: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const source = `
    import { onShutdown } from ${JSON.stringify(LIFECYCLE)};
    onShutdown(async () => { ${stop} }, { log: () => {}, timeoutMs: 500 });
    setInterval(() => {}, 1_000);
    process.stdout.write('ready\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const started = performance.now();
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  return { code, signal, ms: performance.now() - started };
}

test('a drain that finishes exits 0', async () => {
  const ended = await drain('await new Promise((r) => setTimeout(r, 50));');
  assert.deepEqual([ended.code, ended.signal], [0, null]);
});

test('a drain that fails ends the process', async () => {
  const ended = await drain("throw new Error('closing failed');");
  assert.deepEqual([ended.code, ended.signal], [null, 'SIGKILL']);
});

test('a drain that never finishes ends the process at its timeout', async () => {
  const ended = await drain('await new Promise(() => {});');
  assert.deepEqual([ended.code, ended.signal], [null, 'SIGKILL']);
  assert.ok(ended.ms >= 450 && ended.ms < 5_000, `ended after ${Math.round(ended.ms)} ms`);
});
