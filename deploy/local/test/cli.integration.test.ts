// ./sluice manages the stack: status reports every service (the cache Redis too) healthy with its port and pid, a
// second `stack up` changes nothing, and a port taken by a stranger is named in a clear error.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const sluice = `${root}sluice`;

interface Row {
  service: string;
  address: string;
  pid: string;
  health: string;
}

async function status(): Promise<Row[]> {
  const { stdout } = await run(sluice, ['stack', 'status'], { env: { ...process.env, NO_COLOR: '1' } });
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 4)
    .map(([service = '', address = '', pid = '', health = '']) => ({ service, address, pid, health }));
}

test('stack status lists Kafka, PostgreSQL, the three Redis instances and Jaeger as healthy with ports and pids', async () => {
  const rows = await status();
  assert.deepEqual(
    rows.map((r) => r.service),
    ['kafka', 'postgres', 'redis', 'redis-cache', 'redis-secure', 'jaeger'],
  );
  for (const row of rows) {
    assert.equal(row.health, 'healthy', `${row.service} is healthy`);
    assert.match(row.pid, /^\d+$/, `${row.service} has a pid`);
    assert.match(row.address, /^127\.0\.0\.1:\d+$/);
  }
});

test('stack up on a running stack is a no-op: same processes, still healthy', async () => {
  const before = await status();
  await run(sluice, ['stack', 'up'], { env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });
  const after = await status();
  assert.deepEqual(after, before);
});

test('a port held by another process is named in the error, with the variable that moves it', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const script = `source "$SLUICE_ROOT/deploy/local/lib/common.sh"; require_port_free Redis ${port} SLUICE_REDIS_PORT`;
    await assert.rejects(
      run('bash', ['-c', script], {
        env: { ...process.env, SLUICE_ROOT: root.replace(/\/$/, ''), NO_COLOR: '1' },
      }),
      (error: Error & { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? '', new RegExp(`port ${port} for Redis is already in use`));
        assert.match(error.stderr ?? '', /SLUICE_REDIS_PORT/);
        return true;
      },
    );
  } finally {
    server.close();
  }
});
