// The client in a browser: bundled for the browser by Bun (`bun build --target=browser`, from
// the same sources), on a page served by a local server that also passes /v1/events to the edge
// or ingest and the other /v1 routes to query, so the page calls them on its own origin (the
// services send no CORS headers; a real page would sit behind such a proxy too).

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../shared/test/services.ts';

const run = promisify(execFile);

/** The page's script: `window.sendAndRead(input)` sends, flushes and reads back, as send-and-read.ts. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>sluice client</title>
<script type="module">
import { createSluiceClient } from './sluice-client.js';
window.sendAndRead = async ({ apiKey, category, count }) => {
  const sluice = createSluiceClient({ ingestUrl: location.origin, queryUrl: location.origin, apiKey,
    events: { maxBatchEvents: 40, lingerMs: 20 } });
  const now = Date.now();
  const sent = [];
  for (let i = 0; i < count; i += 1)
    sent.push(await sluice.events.send({ stream: 'ecommerce', data: { transaction_id: category + '-' + i,
      user_id: 'u-' + (i % 7), product_category: category, product_name: 'Lamp', amount: 1,
      timestamp: new Date(now - i).toISOString(), payment_method: 'card' } }));
  const bad = await sluice.events.send({ stream: 'ecommerce', data: { product_category: category } });
  await sluice.events.flush();
  const verdicts = await Promise.all(sent.map((s) => s.verdict));
  const badVerdict = await bad.verdict;
  let counted = 0;
  for (const deadline = Date.now() + 60000; Date.now() < deadline; ) {
    const { data } = await sluice.query.windows('ecommerce', { from: new Date(now - 300000).toISOString(),
      to: new Date(now + 60000).toISOString(), filter: ['product_category=' + category] });
    counted = (data?.data ?? []).reduce((sum, row) => sum + (row.values.count ?? 0), 0);
    if (counted >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await sluice.close();
  return { runtime: navigator.userAgent, accepted: verdicts.filter((v) => v.status === 'accepted').length,
    refused: badVerdict.status === 'refused' ? badVerdict.errors.length : badVerdict.status, counted };
};
window.ready = true;
</script>`;

export interface ClientPage {
  readonly url: string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Passes a request on, headers (the key, Content-Encoding) and bytes as they came. */
async function pass(req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === 'string' && name !== 'host' && name !== 'connection') headers.set(name, value);
  const method = req.method ?? 'GET';
  const bytes = method === 'GET' || method === 'HEAD' ? undefined : await body(req);
  const answer = await fetch(`${target}${req.url ?? '/'}`, { method, headers, body: bytes });
  const out: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    // fetch inflated the body already and the length is the server's.
    if (name !== 'content-encoding' && name !== 'content-length' && name !== 'transfer-encoding')
      out[name] = value;
  });
  res.writeHead(answer.status, out);
  res.end(Buffer.from(await answer.arrayBuffer()));
}

export async function servePage(events: string, query: string): Promise<ClientPage> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-client-page-'));
  const bundle = join(dir, 'sluice-client.js');
  await run(
    'bun',
    ['build', `${ROOT}client/src/index.ts`, '--target=browser', '--format=esm', `--outfile=${bundle}`],
    {
      cwd: ROOT,
    },
  );
  const script = await readFile(bundle);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path === '/sluice-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else {
      pass(req, res, path === '/v1/events' ? events : query).catch((error: unknown) => {
        res.writeHead(502);
        res.end(String(error));
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
