// Live (SSE) clients are capped per client as well as in all (guarantee 5): one address cannot take
// every slot (429 with Retry-After past its share, while another address still gets in), the
// global cap still holds (503 with Retry-After), and a slot comes back when its client leaves. The
// address is the socket's peer as the server saw it (client-address.ts): Bun's requestIP or Node's
// incoming socket, never a header a client writes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readSse } from '../../shared/test/sse-client.ts';
import { clientAddress } from '../src/client-address.ts';
import type { QueryHarness } from './in-process.ts';
import { startQuery } from './in-process.ts';

let h: QueryHarness;
const LIVE = '/v1/streams/equipment-metrics/live';

before(async () => {
  // Global cap 5 (the harness's), 2 per address.
  h = await startQuery('livecaps', { maxLiveClientsPerAddress: 2 });
});

after(async () => {
  for (const close of opened) close();
  await h.close();
});

/** The env Bun gives a fetch handler (its server), answering requestIP for `address`. */
const bunFrom = (address: string) => ({ requestIP: () => ({ address, family: 'IPv4', port: 50_000 }) });
/** The env @hono/node-server gives one (its incoming request's socket). */
const nodeFrom = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

/** Every client a test opened, closed after it whatever its outcome (an open one holds a slot). */
const opened: (() => void)[] = [];

async function open(env: object) {
  const response = await h.app.request(LIVE, { headers: { 'x-forwarded-for': '203.0.113.9' } }, env);
  if (response.status !== 200) return { status: response.status, response, close: () => {} };
  const client = readSse(response);
  opened.push(() => client.close());
  await client.next((e) => e.event === 'ready', 3_000);
  return { status: 200, response, close: () => client.close() };
}

test('the address is the socket peer on Bun and on Node, never a forwarded header', () => {
  const request = new Request('http://h/', { headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(clientAddress(bunFrom('10.0.0.1'), request), '10.0.0.1');
  assert.equal(clientAddress(nodeFrom('10.0.0.2'), request), '10.0.0.2');
  assert.equal(clientAddress(undefined, request), 'unknown');
  assert.equal(clientAddress({ requestIP: () => null }, request), 'unknown');
});

test('SSE per-client cap: one address gets its share (429 beyond), others still get in, global cap 503', async () => {
  const a1 = await open(bunFrom('10.0.0.1'));
  const a2 = await open(nodeFrom('10.0.0.1'));
  assert.equal(a1.status, 200);
  assert.equal(a2.status, 200);
  const a3 = await open(bunFrom('10.0.0.1'));
  assert.equal(a3.status, 429, 'a third client of one address is refused');
  assert.ok(Number(a3.response.headers.get('retry-after')) > 0);
  const body = (await a3.response.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'rate_limited');

  // Other addresses still get in, up to the global cap (5).
  const others = [
    await open(bunFrom('10.0.0.2')),
    await open(bunFrom('10.0.0.3')),
    await open(bunFrom('10.0.0.4')),
  ];
  assert.deepEqual(
    others.map((o) => o.status),
    [200, 200, 200],
  );
  const sixth = await open(bunFrom('10.0.0.5'));
  assert.equal(sixth.status, 503, 'past the global cap');
  assert.ok(Number(sixth.response.headers.get('retry-after')) > 0);

  // A client that leaves gives its address's slot back (once its blocking read returns, 1 s here).
  a1.close();
  let again = await open(bunFrom('10.0.0.1'));
  for (let i = 0; i < 30 && again.status !== 200; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    again = await open(bunFrom('10.0.0.1'));
  }
  assert.equal(again.status, 200);
});
