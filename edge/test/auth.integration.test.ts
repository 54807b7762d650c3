// The edge with SLUICE_AUTH=on on Deno and on Bun, real processes before a real ingest (issue 21):
// it fails fast without its relay key; 401 and 403 as ingest answers them; a valid key's events
// land in Kafka with the key's tenant and a spoofed tenant is refused per event (403 when all);
// a rate-limited key's 429s carry the headers and nothing of them is forwarded; a revoked key
// stops at both edges and ingest within 5 s (ingest's reload + the edge's key cache); no key in
// any service's output.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { TestKeys } from '../../ingest/test/auth-fixtures.ts';
import {
  assertForbidden,
  assertUnauthorized,
  burst,
  createKeys,
  events,
  idOf,
  kafkaById,
  OTHER_TENANT,
  post,
  secretsOf,
  TENANT,
  unauthorizedHeaders,
} from '../../ingest/test/auth-fixtures.ts';
import { bearer, revokeTestKey } from '../../shared/test/keys.ts';
import type { Runtime, ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { ROOT, testPipeline } from '../../shared/test/services.ts';

const RUNTIMES: Runtime[] = ['deno', 'bun'];
let p: TestPipeline;
let keys: TestKeys;
let ingest: ServiceHandle;
const edges = new Map<Runtime, ServiceHandle>();
/** Every event id an edge 202'd (all the key's tenant's), and the ids it must never forward. */
const acked = new Set<string>();
const neverForwarded: string[] = [];

before(async () => {
  p = await testPipeline('edge-auth');
  keys = await createKeys(p.iso.databaseUrl);
  ingest = await p.start('ingest', { SLUICE_AUTH: 'on', SLUICE_LOG_LEVEL: 'info' });
  for (const runtime of RUNTIMES) {
    const edge = await p.start(
      'edge',
      {
        SLUICE_AUTH: 'on',
        SLUICE_OPS_OPEN: 'false',
        SLUICE_INGEST_URL: ingest.url,
        SLUICE_EDGE_INGEST_KEY: keys.relay.key,
        SLUICE_LOG_LEVEL: 'info',
      },
      runtime,
    );
    edges.set(runtime, edge);
  }
});

after(async () => {
  await p?.close();
});

function edgeOf(runtime: Runtime): ServiceHandle {
  const edge = edges.get(runtime);
  if (edge === undefined) throw new Error(`no edge on ${runtime}`);
  return edge;
}

for (const runtime of RUNTIMES) {
  describe(`edge on ${runtime}`, () => {
    test('without its relay key it refuses to start', async () => {
      const env: Record<string, string | undefined> = { ...process.env, ...p.iso.env, SLUICE_AUTH: 'on' };
      delete env.SLUICE_EDGE_INGEST_KEY;
      const entry = `${ROOT}edge/src/main.ts`;
      const [command, args] =
        runtime === 'deno'
          ? ['deno', ['run', '--allow-env', '--allow-net', '--allow-read', entry]]
          : ['bun', [entry]];
      const exit = await new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile(command, args, { env, cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
            output: stdout + stderr,
          }),
        );
      });
      assert.equal(exit.code, 1, exit.output);
      assert.match(exit.output, /SLUICE_EDGE_INGEST_KEY: required when SLUICE_AUTH=on/);
    });

    test('401 for no, malformed, unknown, expired or revoked keys; 403 without events:write', async () => {
      const { url } = edgeOf(runtime);
      for (const [what, headers] of unauthorizedHeaders(keys)) {
        assertUnauthorized(await post(url, events(1, 'unauth'), headers), `${what}`);
        assert.equal((await fetch(`${url}/healthz`, { headers })).status, 401, `/healthz ${what}`);
        assert.equal((await fetch(`${url}/metrics`, { headers })).status, 401, `/metrics ${what}`);
      }
      for (const key of [keys.read, keys.admin, keys.relay])
        assertForbidden(await post(url, events(1, 'forbidden'), bearer(key.key)), `scopes ${key.scopes}`);
      assert.equal((await fetch(`${url}/healthz`, { headers: bearer(keys.write.key) })).status, 403);
      assert.equal((await fetch(`${url}/healthz`, { headers: bearer(keys.admin.key) })).status, 200);
      assert.equal((await fetch(`${url}/metrics`, { headers: bearer(keys.admin.key) })).status, 200);
    });

    test("a write key's events are its tenant's; another tenant is refused per event, 403 when all", async () => {
      const { url } = edgeOf(runtime);
      const mine = events(3, `${runtime}-mine`);
      const spoofed = events(1, `${runtime}-spoofed`, { tenant: OTHER_TENANT });
      const res = await post(url, [spoofed[0], ...mine], bearer(keys.write.key));
      assert.equal(res.status, 202, JSON.stringify(res.json));
      assert.deepEqual(res.json.ids, mine.map(idOf));
      assert.deepEqual(
        res.json.rejected?.map((r) => [r.index, r.errors[0]?.path]),
        [[0, 'tenant']],
      );
      for (const e of mine) acked.add(idOf(e));
      neverForwarded.push(...spoofed.map(idOf));

      const allSpoofed = events(2, `${runtime}-all-spoofed`, { tenant: OTHER_TENANT });
      assertForbidden(await post(url, allSpoofed, bearer(keys.write.key)), 'every event spoofed');
      neverForwarded.push(...allSpoofed.map(idOf));
    });

    test('a rate-limited key: 429 with Retry-After and RateLimit headers; a 429 forwards nothing', async () => {
      // The key's budget is shared with the other edge and ingest: let its burst refill first.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const { acked: ok, refused } = await burst(edgeOf(runtime).url, keys.limited.key, `${runtime}-burst`);
      for (const id of ok) acked.add(id);
      neverForwarded.push(...refused);
    });
  });
}

test('Kafka holds every event an edge 202-ed exactly once with the key tenant, nothing refused', async () => {
  const byId = await kafkaById(p.iso.topicPrefix, acked.size);
  for (const id of acked) assert.deepEqual(byId.get(id)?.tenants, [TENANT], id);
  for (const id of neverForwarded) assert.equal(byId.get(id), undefined, `${id} was refused`);
  assert.equal(byId.size, acked.size);
});

test('a revoked key gets 401 within 5 s at both edges (through their key caches) and ingest', async () => {
  const headers = bearer(keys.doomed.key);
  // Verified once at each edge, so each holds it in its cache when it is revoked.
  for (const runtime of RUNTIMES) {
    const res = await post(edgeOf(runtime).url, events(1, 'doomed'), headers);
    assert.equal(res.status, 202);
    for (const id of res.json.ids ?? []) acked.add(id);
  }
  const started = Date.now();
  await revokeTestKey(p.iso.databaseUrl, keys.doomed.id);
  const stoppedAt = async (url: string, path: string): Promise<number> => {
    while (Date.now() - started < 10_000) {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(path === '/v1/admission' ? { events: 1 } : events(1, 'doomed')),
      });
      await res.body?.cancel();
      if (res.status === 401) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return Number.POSITIVE_INFINITY;
  };
  const elapsed = await Promise.all([
    ...RUNTIMES.map((runtime) => stoppedAt(edgeOf(runtime).url, '/v1/events')),
    stoppedAt(ingest.url, '/v1/admission'),
  ]);
  for (const [i, ms] of elapsed.entries())
    assert.ok(ms < 5_000, `${[...RUNTIMES, 'ingest'][i]} refused the revoked key after ${ms} ms`);
});

test('no key in any service output', async () => {
  for (const service of [ingest, ...edges.values()]) {
    const output = service.output();
    for (const secret of secretsOf(keys))
      assert.ok(!output.includes(secret), `a key in the output of ${service.name}`);
  }
});
