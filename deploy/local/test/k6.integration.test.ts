// k6 (built by ./sluice) runs a small, bounded script against a throw-away HTTP server on
// 127.0.0.1 and exits 0; the server counts the requests, so a k6 that did nothing fails the test.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stackEnv } from '../../../shared/test/harness.ts';
import type { CommandResult } from '../../../shared/test/run-command.ts';
import { runCommand } from '../../../shared/test/run-command.ts';

const env = stackEnv();

const SCRIPT = `
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  vus: 2,
  iterations: 20,
  duration: '20s',
  thresholds: { checks: ['rate==1'], http_req_failed: ['rate==0'] },
};
export default function () {
  const res = http.post(__ENV.TARGET + '/v1/echo', JSON.stringify({ n: __ITER }), {
    headers: { 'content-type': 'application/json' },
  });
  check(res, { 'status is 200': (r) => r.status === 200, 'echoed': (r) => r.json('ok') === true });
}
`;

function run(bin: string, args: string[], childEnv: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand(bin, args, { env: childEnv });
}

test('k6 runs a bounded script against a local server and exits 0', async () => {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/echo') requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-k6-'));
  try {
    await writeFile(join(dir, 'script.js'), SCRIPT);
    const summary = join(dir, 'summary.json');
    const { code, output } = await run(
      env.k6Bin,
      ['run', '--quiet', '--no-usage-report', '--summary-export', summary, join(dir, 'script.js')],
      { ...process.env, TARGET: `http://127.0.0.1:${port}`, K6_NO_USAGE_REPORT: 'true' },
    );
    assert.equal(code, 0, `k6 exited ${code}:\n${output}`);
    assert.equal(requests, 20, 'the server saw every iteration');
    const parsed = JSON.parse(await readFile(summary, 'utf8')) as {
      metrics: Record<string, { count?: number }>;
    };
    assert.equal(parsed.metrics.http_reqs?.count, 20);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
