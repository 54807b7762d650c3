// The native floor of `./sluice bench query`: nginx (Debian's nginx-light, which `./sluice bench
// query` installs) answering the same fixed body as the bare Bun server, with one worker process.
// What k6 measures against it on the same cores is the best any HTTP server could do on this
// machine: a target below it is a target for the machine and the load generator, not for sluice.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../shared/test/harness.ts';
import { freePort } from '../shared/test/services.ts';

const NGINX = '/usr/sbin/nginx';

export interface FloorServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** nginx on a free loopback port, or undefined where it is not installed. */
export async function startNativeFloor(): Promise<FloorServer | undefined> {
  if (!existsSync(NGINX)) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-nginx-'));
  const port = await freePort();
  const config = `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location /healthz { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), config);
  const child = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 100,
    what: 'nginx',
  });
  if (child.pid === undefined) throw new Error('nginx did not start');
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
