// Starts bench/bare-server.ts on Bun on a free port and waits until it answers: the HTTP floor the
// query and e2e benchmarks measure beside the services, on the same cores in the same run.

import { spawn } from 'node:child_process';
import { waitFor } from '../shared/test/harness.ts';
import { freePort, ROOT } from '../shared/test/services.ts';

export interface BareServer {
  readonly url: string;
  readonly pid: number;
  stop(): void;
}

/**
 * `bytes`: the size of the GET answer (0: a tiny one); `postStatus`: when above 0, every POST is
 * read and answered with that status and ingest's answer to a batch of 100 accepted events.
 */
export async function startBareServer(bytes = 0, postStatus = 0): Promise<BareServer> {
  const port = await freePort();
  const child = spawn(
    'bun',
    [`${ROOT}bench/bare-server.ts`, String(port), String(bytes), String(postStatus)],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'the bare Bun server',
  });
  if (child.pid === undefined) throw new Error('the bare Bun server did not start');
  return { url, pid: child.pid, stop: () => child.kill() };
}
