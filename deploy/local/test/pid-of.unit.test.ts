// ./sluice's pid check (deploy/local/lib/common.sh `pid_of`): a service counts as running only
// while its recorded process is alive, not a zombie, and the same process that was recorded (a
// pid the kernel handed to someone else is not ours). Run against a temporary SLUICE_DATA, so the
// shared stack's pid files are never read or written here.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

let data: string;
const started: ChildProcess[] = [];

before(async () => {
  data = await mkdtemp(join(tmpdir(), 'sluice-pid-of-'));
  await mkdir(join(data, 'run'));
});

after(async () => {
  for (const child of started) child.kill('SIGKILL');
  await rm(data, { recursive: true, force: true });
});

/** Runs `pid_of NAME` in bash with the temporary data dir: the pid it prints, or null when it fails. */
async function pidOf(name: string): Promise<string | null> {
  const script = `mkdir -p "$SLUICE_DATA/run"; source "$SLUICE_ROOT/deploy/local/lib/common.sh"; pid_of ${name}`;
  try {
    const { stdout } = await run('bash', ['-c', script], {
      env: { ...process.env, SLUICE_ROOT: root, SLUICE_DATA: data, NO_COLOR: '1' },
    });
    return stdout.trim();
  } catch {
    return null;
  }
}

async function stat(pid: number): Promise<{ state: string; start: string }> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] ?? '' };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string | (() => string)): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

const pidFile = (name: string) => join(data, 'run', `${name}.pid`);

test('zombie service restarts', async () => {
  // A zombie as a crashed service leaves one where nothing reaps it: the child exits once its
  // parent has exec'd into sleep, which never waits for it (had it exited earlier, bash would
  // have reaped it).
  const zombiePidFile = join(data, 'zombie-child');
  const child = `( until [[ $(</proc/$$/comm) == sleep ]]; do sleep 0.01; done ) & echo $! > "${zombiePidFile}"`;
  const parent = spawn('bash', ['-c', `${child}; exec sleep 60`], { stdio: 'ignore' });
  started.push(parent);
  let seen = 'no pid yet';
  const zombie = await until(
    async () => {
      const pid = Number((await readFile(zombiePidFile, 'utf8')).trim());
      seen = `pid ${pid}`;
      const { state } = await stat(pid);
      seen = `pid ${pid} in state ${state}`;
      return state === 'Z' ? pid : undefined;
    },
    () => `the child to become a zombie (last seen: ${seen})`,
  );
  const { start } = await stat(zombie);

  // As an older ./sluice wrote it (the pid alone), and as it is written now (pid and start time).
  await writeFile(pidFile('processor'), String(zombie));
  assert.equal(await pidOf('processor'), null, 'a zombie recorded by pid alone is not running');
  await writeFile(pidFile('processor'), `${zombie} ${start}`);
  assert.equal(await pidOf('processor'), null, 'a zombie recorded with its start time is not running');
});

test('a pid reused by another process is not taken for the service', async () => {
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  started.push(other);
  const pid = await until(async () => other.pid, 'sleep to start');
  const { start } = await until(async () => stat(pid), 'its /proc entry');
  await writeFile(pidFile('query'), `${pid} ${Number(start) - 1}`);
  assert.equal(await pidOf('query'), null, 'another start time: not the process that was recorded');
  await writeFile(pidFile('query'), `${pid} ${start}`);
  assert.equal(await pidOf('query'), String(pid), 'the recorded process itself is running');
  await writeFile(pidFile('query'), String(pid));
  assert.equal(await pidOf('query'), String(pid), 'a pid file of an older ./sluice still reads');
});

test('spawn records a pid that pid_of finds, and a missing pid file is not running', async () => {
  const script = [
    'mkdir -p "$SLUICE_DATA/run" "$SLUICE_DATA/logs"',
    'source "$SLUICE_ROOT/deploy/local/lib/common.sh"',
    'spawn probe sleep 60',
    'pid_of probe',
  ].join('; ');
  const { stdout } = await run('bash', ['-c', script], {
    env: { ...process.env, SLUICE_ROOT: root, SLUICE_DATA: data, NO_COLOR: '1' },
  });
  const pid = Number(stdout.trim());
  try {
    assert.ok(pid > 0, `pid_of printed a pid: '${stdout}'`);
    const recorded = (await readFile(pidFile('probe'), 'utf8')).trim().split(' ');
    assert.equal(recorded[0], String(pid));
    assert.equal(recorded[1], (await stat(pid)).start, 'the start time is recorded beside the pid');
  } finally {
    if (pid > 0) process.kill(pid, 'SIGKILL');
  }
  assert.equal(await pidOf('never-started'), null);
});
