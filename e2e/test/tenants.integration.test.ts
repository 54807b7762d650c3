// Keys, tenants and quotas end to end (issue 21), with SLUICE_AUTH=on on every service and the
// edge on Deno and Bun forwarding with its relay key:
// - two tenants write the same stream with the same categories and each reads back exactly its own
//   windows, top-N, stream detail and live updates, and never the other's cached answer;
// - a `tenant` in the body naming another tenant never lands in that tenant;
// - a rate-limited key gets 429 with Retry-After and the RateLimit headers, while every event of
//   every 202 is counted exactly once and nothing of a 429 is;
// - a key revoked through the admin API stops working on every service within 5 s;
// - the key is nowhere in the services' logs or in the traces in Jaeger; its id is.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { CreatedKey } from '../../shared/src/auth/key-store.ts';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import { bearer, createTestKey, secretOf } from '../../shared/test/keys.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import type { SseClient } from '../../shared/test/sse-client.ts';
import { openSse } from '../../shared/test/sse-client.ts';
import type { Transaction } from '../../tools/ecommerce-data.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';
import type { ApiRow } from './expected.ts';
import { expectedWindows, mismatch } from './expected.ts';

const BASE = Date.parse('2026-03-02T09:00:00.000Z');
const MINUTES = 3;
const PER_TENANT = 240;
const TENANTS = ['acme', 'bigco'] as const;
type Tenant = (typeof TENANTS)[number];

let iso: Isolation;
let sql: postgres.Sql;
const services: ServiceHandle[] = [];
let ingest: ServiceHandle;
let query: ServiceHandle;
let edgeDeno: ServiceHandle;
let edgeBun: ServiceHandle;
const keys = {} as Record<Tenant, CreatedKey>;
let admin: CreatedKey;
let limited: CreatedKey;
const live = new Map<Tenant, SseClient>();

/** Each tenant's workload: the same categories and minutes, its own amounts and ids. */
function workload(tenant: Tenant): Transaction[] {
  const random = seededRandom(tenant === 'acme' ? 1 : 2);
  return Array.from({ length: PER_TENANT }, (_, i) =>
    makeTransaction(random, `${tenant}-${i}`, BASE + Math.floor((i / PER_TENANT) * MINUTES * 60_000)),
  );
}
const sent = { acme: workload('acme'), bigco: workload('bigco') };

async function postEvents(url: string, key: string, events: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify(events),
  });
}

const windowsUrl = (extra = '') =>
  `${query.url}/v1/streams/ecommerce/windows?from=${new Date(BASE).toISOString()}&to=${new Date(BASE + (MINUTES + 1) * 60_000).toISOString()}&limit=1000${extra}`;

before(async () => {
  iso = await isolate('tenants');
  sql = postgres(iso.databaseUrl, { max: 1, onnotice: () => {} });
  const relay = await createTestKey(iso.databaseUrl, { tenant: 'sluice', scopes: ['events:relay'] });
  for (const tenant of TENANTS)
    keys[tenant] = await createTestKey(iso.databaseUrl, { tenant, scopes: ['events:write', 'windows:read'] });
  admin = await createTestKey(iso.databaseUrl, { tenant: 'acme', scopes: ['admin'] });
  limited = await createTestKey(iso.databaseUrl, {
    tenant: 'limited',
    scopes: ['events:write', 'windows:read'],
    eventsPerSecond: 100,
  });
  const env = {
    ...iso.env,
    SLUICE_AUTH: 'on',
    SLUICE_OPS_OPEN: 'true',
    SLUICE_IDLE_TIMEOUT_MS: '4000',
    SLUICE_TICK_MS: '250',
    SLUICE_TRACE_SAMPLE_RATIO: '1',
    SLUICE_LOG_LEVEL: 'info',
  };
  ingest = await startService('ingest', env);
  services.push(ingest);
  services.push(await startService('processor', env));
  query = await startService('query', env);
  services.push(query);
  const edgeEnv = { ...env, SLUICE_INGEST_URL: ingest.url, SLUICE_EDGE_INGEST_KEY: relay.key };
  edgeDeno = await startService('edge', edgeEnv, 'deno');
  services.push(edgeDeno);
  edgeBun = await startService('edge', edgeEnv, 'bun');
  services.push(edgeBun);
  for (const tenant of TENANTS)
    live.set(tenant, await openSse(`${query.url}/v1/streams/ecommerce/live`, bearer(keys[tenant].key)));
});

after(async () => {
  for (const client of live.values()) client.close();
  await Promise.all(services.map((s) => s.stop()));
  await sql.end();
  await iso.cleanup();
});

describe('two tenants on one stream', () => {
  it('each writes through the edges and ingest, and reads back exactly its own windows', {
    timeout: 180_000,
  }, async () => {
    // Interleaved, through every entry point, so the tenants share partitions, batches and windows' keys.
    const targets = [edgeDeno, edgeBun, ingest];
    for (let i = 0; i < PER_TENANT; i += 40) {
      for (const tenant of TENANTS) {
        const target = targets[(i / 40) % 3] ?? ingest;
        const response = await postEvents(
          target.url,
          keys[tenant].key,
          sent[tenant].slice(i, i + 40).map(envelope),
        );
        const body = (await response.json()) as { accepted: number };
        assert.equal(response.status, 202, `${tenant} via ${target.url}: ${JSON.stringify(body)}`);
        assert.equal(body.accepted, 40);
      }
    }
    for (const tenant of TENANTS) {
      const expected = expectedWindows(sent[tenant]);
      const rows = await waitFor(
        async () => {
          const response = await fetch(windowsUrl(), { headers: bearer(keys[tenant].key) });
          const body = (await response.json()) as { data: ApiRow[] };
          return body.data.filter((r) => r.status === 'settled').length === expected.size
            ? body.data
            : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500, what: `${tenant}'s ${expected.size} settled windows` },
      );
      assert.equal(rows.length, expected.size);
      for (const row of rows) {
        const want = expected.get(`${Date.parse(row.window_start)}|${row.key}`);
        assert.ok(want, `${tenant}: unexpected window ${row.window_start} ${row.key}`);
        assert.equal(mismatch(row, want), undefined, tenant);
      }
    }
    // PostgreSQL holds both tenants' rows for the same (window, key)s: isolation is in the reads.
    const [shared] = await sql<{ n: string }[]>`
      select count(*)::text as n from windows a join windows b
        on a.stream = b.stream and a."window" = b."window" and a.window_start = b.window_start and a.key = b.key
      where a.tenant = 'acme' and b.tenant = 'bigco'`;
    assert.ok(Number(shared?.n) > 0, 'the tenants share window keys');
  });

  it("never serves one tenant's cached answer to the other, for the same URL", async () => {
    const url = windowsUrl('&group_by=none');
    const answers = new Map<Tenant, { data: ApiRow[] }>();
    // Twice each, interleaved: the second ask of each is a cache hit of its own answer.
    for (let round = 0; round < 2; round += 1)
      for (const tenant of TENANTS) {
        const response = await fetch(url, { headers: bearer(keys[tenant].key) });
        assert.equal(response.status, 200);
        answers.set(tenant, (await response.json()) as { data: ApiRow[] });
      }
    for (const tenant of TENANTS) {
      const total = (answers.get(tenant)?.data ?? []).reduce((s, r) => s + (r.values.count ?? 0), 0);
      assert.equal(total, PER_TENANT, `${tenant}'s rolled-up count`);
      const cents = (answers.get(tenant)?.data ?? []).reduce(
        (s, r) => s + Math.round((r.values.sum_amount ?? 0) * 100),
        0,
      );
      assert.equal(
        cents,
        sent[tenant].reduce((s, t) => s + Math.round(t.amount * 100), 0),
        `${tenant}'s sum`,
      );
    }
  });

  it('reads its own top-N and stream detail', async () => {
    for (const tenant of TENANTS) {
      const response = await fetch(
        `${query.url}/v1/streams/ecommerce/top?agg=sum_amount&n=6&from=${new Date(BASE).toISOString()}&to=${new Date(BASE + (MINUTES + 1) * 60_000).toISOString()}`,
        { headers: bearer(keys[tenant].key) },
      );
      assert.equal(response.status, 200);
      const top = (await response.json()) as { data: { key: string; value: number }[] };
      const byCategory = new Map<string, number>();
      for (const t of sent[tenant])
        byCategory.set(
          t.product_category,
          (byCategory.get(t.product_category) ?? 0) + Math.round(t.amount * 100),
        );
      const want = [...byCategory.entries()].sort((a, b) => b[1] - a[1]);
      assert.deepEqual(
        top.data.map((r) => [r.key, Math.round(r.value * 100)]),
        want.slice(0, 6),
        `${tenant}'s top categories by sum`,
      );
      const detail = await fetch(`${query.url}/v1/streams/ecommerce`, { headers: bearer(keys[tenant].key) });
      assert.equal(detail.status, 200);
      const text = await detail.text();
      for (const other of TENANTS)
        if (other !== tenant) assert.ok(!text.includes(other), `${tenant} sees ${other}`);
    }
  });

  it('sees only its own live updates', async () => {
    for (const tenant of TENANTS) {
      const client = live.get(tenant);
      assert.ok(client);
      const expected = expectedWindows(sent[tenant]);
      // The last update of each window is its settled row, with this tenant's values.
      await client.next((e) => {
        if (e.event !== 'windows') return false;
        const latest = new Map<string, { values: Record<string, number | null>; status: string }>();
        for (const event of client.events.filter((x) => x.event === 'windows'))
          for (const u of JSON.parse(event.data) as ApiRow[])
            if ((u as unknown as { window: string }).window === '1m')
              latest.set(`${Date.parse(u.window_start)}|${u.key}`, u);
        return [...expected.entries()].every(([id, w]) => latest.get(id)?.values.count === w.count);
      }, 60_000);
      for (const event of client.events.filter((x) => x.event === 'windows'))
        for (const u of JSON.parse(event.data) as (ApiRow & { window: string })[]) {
          if (u.window !== '1m') continue;
          const want = expected.get(`${Date.parse(u.window_start)}|${u.key}`);
          assert.ok(want, `${tenant} got an update for a window it has none in: ${u.window_start} ${u.key}`);
          assert.ok((u.values.count ?? 0) <= want.count, `${tenant} saw another tenant's count`);
        }
    }
  });
});

describe('the tenant comes from the key', () => {
  it("refuses an event naming another tenant, and it never lands in that tenant's windows", async () => {
    const marker = `spoof-${randomBytes(4).toString('hex')}`;
    const event = (id: string, tenant?: string) => ({
      stream: 'ecommerce',
      ...(tenant === undefined ? {} : { tenant }),
      // Now, not in BASE's minutes: those are settled and past their lateness by this test.
      data: { ...makeTransaction(seededRandom(9), id, Date.now()), product_category: marker },
    });
    for (const [t, target] of [edgeDeno, edgeBun, ingest].entries()) {
      // Ids of their own per entry point: a copy of an id would count once (dedup), not three times.
      const all = await postEvents(target.url, keys.acme.key, [event(`${marker}-${t}-a`, 'bigco')]);
      assert.equal(all.status, 403, `${target.url}: all events name another tenant`);
      assert.equal(((await all.json()) as { error: { code: string } }).error.code, 'forbidden');
      const mixed = await postEvents(target.url, keys.acme.key, [
        event(`${marker}-${t}-b`, 'bigco'),
        event(`${marker}-${t}-c`),
        event(`${marker}-${t}-d`, 'acme'),
      ]);
      assert.equal(mixed.status, 202);
      const body = (await mixed.json()) as { accepted: number; rejected: { index: number }[] };
      assert.equal(body.accepted, 2);
      assert.deepEqual(
        body.rejected.map((r) => r.index),
        [0],
      );
    }
    // The accepted ones land in acme; nothing ever in bigco.
    await waitFor(
      async () => {
        const [row] = await sql<{ n: string }[]>`
          select coalesce(sum((values->>'count')::int), 0)::text as n from windows where key = ${marker} and tenant = 'acme' and "window" = '1m'`;
        return Number(row?.n) === 6 ? true : undefined;
      },
      { timeoutMs: 60_000, what: "acme's 6 marker events" },
    );
    const [bigco] = await sql<
      { n: string }[]
    >`select count(*)::text as n from windows where key = ${marker} and tenant <> 'acme'`;
    assert.equal(bigco?.n, '0');
  });
});

describe('rate limits', () => {
  it('answers 429 with the headers, and counts every 202 exactly once and nothing of a 429', {
    timeout: 120_000,
  }, async () => {
    const marker = `limited-${randomBytes(4).toString('hex')}`;
    const accepted = new Set<string>();
    const refused = new Set<string>();
    let limitedResponses = 0;
    // 20 bursts of 4 concurrent requests of 25 events over the edges and ingest: ~2,000 events
    // asked against 100/s with one second of burst.
    for (let burst = 0; burst < 20; burst += 1) {
      await Promise.all(
        [edgeDeno, edgeBun, ingest, ingest].map(async (target, r) => {
          const ids = Array.from({ length: 25 }, (_, i) => `${marker}-${burst}-${r}-${i}`);
          const random = seededRandom(burst * 10 + r);
          const events = ids.map((id) => ({
            stream: 'ecommerce',
            id,
            data: { ...makeTransaction(random, id, Date.now()), product_category: marker },
          }));
          const response = await postEvents(target.url, limited.key, events);
          const body = (await response.json()) as { accepted?: number; ids?: string[] };
          if (response.status === 202) {
            assert.equal(body.accepted, 25);
            for (const id of ids) accepted.add(id);
            assert.match(response.headers.get('ratelimit-policy') ?? '', /"events";q=100;w=1/);
          } else {
            assert.equal(response.status, 429, `${target.url}: ${JSON.stringify(body)}`);
            limitedResponses += 1;
            assert.ok(Number(response.headers.get('retry-after')) >= 1, 'Retry-After');
            assert.match(response.headers.get('ratelimit-policy') ?? '', /"events";q=100;w=1/);
            assert.match(response.headers.get('ratelimit') ?? '', /"events";r=\d+;t=\d+/);
            for (const id of ids) refused.add(id);
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(limitedResponses > 0, 'some requests were over the limit');
    assert.ok(accepted.size > 0, 'some requests were within it');
    // Every accepted event once, in the windows of its tenant; no refused one.
    await waitFor(
      async () => {
        const [row] = await sql<{ n: string }[]>`
          select coalesce(sum((values->>'count')::int), 0)::text as n from windows
          where key = ${marker} and tenant = 'limited' and "window" = '1m'`;
        return Number(row?.n) === accepted.size ? true : undefined;
      },
      { timeoutMs: 60_000, what: `${accepted.size} accepted events counted` },
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [row] = await sql<{ n: string }[]>`
      select coalesce(sum((values->>'count')::int), 0)::text as n from windows where key = ${marker} and "window" = '1m'`;
    assert.equal(Number(row?.n), accepted.size, 'nothing of a 429 counted, nothing twice');
    // Usage counts what was accepted.
    const usage = (await (await fetch(`${query.url}/v1/usage`, { headers: bearer(limited.key) })).json()) as {
      events: number;
    };
    assert.equal(usage.events, accepted.size);
  });
});

describe('revocation and secrets', () => {
  it('a key revoked through the admin API stops on every service within 5 s', {
    timeout: 60_000,
  }, async () => {
    const victim = await createTestKey(iso.databaseUrl, {
      tenant: 'acme',
      scopes: ['events:write', 'windows:read'],
    });
    const one = [{ stream: 'ecommerce', data: makeTransaction(seededRandom(5), 'revoke-0', BASE + 10_000) }];
    const probes: [string, () => Promise<number>][] = [
      ...[edgeDeno, edgeBun, ingest].map(
        (s) =>
          [s.url, async () => (await postEvents(s.url, victim.key, one)).status] as [
            string,
            () => Promise<number>,
          ],
      ),
      [query.url, async () => (await fetch(windowsUrl(), { headers: bearer(victim.key) })).status],
    ];
    for (const [url, probe] of probes)
      assert.equal(await waitFor(async () => ((await probe()) < 300 ? 200 : undefined)), 200, url);
    const revoked = await fetch(`${query.url}/v1/admin/keys/${victim.id}`, {
      method: 'DELETE',
      headers: bearer(admin.key),
    });
    assert.equal(revoked.status, 204);
    const at = Date.now();
    await Promise.all(
      probes.map(async ([url, probe]) => {
        await waitFor(async () => ((await probe()) === 401 ? true : undefined), {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: `${url} refusing the revoked key`,
        });
        assert.ok(Date.now() - at < 5_000, `${url} took ${Date.now() - at} ms`);
      }),
    );
  });

  it('no key is in any log line or trace; the key id is in the traces', { timeout: 60_000 }, async () => {
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(`${ingest.url}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        ...bearer(keys.acme.key),
      },
      body: JSON.stringify([
        { stream: 'ecommerce', data: makeTransaction(seededRandom(6), 'traced-0', BASE + 20_000) },
      ]),
    });
    assert.equal(response.status, 202);
    const trace = await waitFor(
      async () => {
        const answer = await fetch(`${stackEnv().jaegerQueryUrl}/api/v3/traces/${traceId}`);
        if (answer.status !== 200) return undefined;
        const text = await answer.text();
        return text.includes(keys.acme.id) ? text : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the traced request in Jaeger, with its key id' },
    );
    const secrets = [...TENANTS.map((t) => keys[t].key), admin.key, limited.key];
    for (const secret of secrets) {
      assert.ok(!trace.includes(secret), 'a key in a trace');
      assert.ok(!trace.includes(secretOf(secret)), "a key's secret in a trace");
      for (const service of services)
        assert.ok(!service.output().includes(secretOf(secret)), `a key in ${service.name}'s output`);
    }
  });
});
