// The hostile suite's webhooks family (issue 22 beside issue 20): property-based storms of
// deliveries to POST /v1/webhooks/{id} on ingest and on the edge (Deno and Bun), for sources of
// all six providers. Each request picks a source id (real, well-shaped unknown, or garbage), a
// signing (valid; none; garbage, huge or mangled headers; another secret; a retired secret; a
// stale or future timestamp; a body changed after signing), a body (fair JSON, hostile text a
// store cannot hold, deep nesting, not JSON, not UTF-8, over the size limit) and a delivery id
// from a small pool, so redeliveries happen. The signing here is node:crypto's, written apart
// from the project's Web Crypto verifiers. The contract: the exact status each combination asks
// (404, 413, 401, 400, 200), never a 5xx, no answer naming the expected MAC or a secret, every
// 2xx's delivery counted exactly once in the webhooks windows, and no secret in any log.
// Bounded: ~300 requests, 8 in flight, to 127.0.0.1 only.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { CreatedKey } from '../../shared/src/auth/key-store.ts';
import type { Provider } from '../../shared/src/webhooks/source.ts';
import { uniqueName, waitFor } from '../../shared/test/harness.ts';
import { bearer, createTestKey } from '../../shared/test/keys.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import { freshSecret, HMAC_SCHEME, SIGNATURE_HEADER, TIMED } from '../../shared/test/webhook-deliveries.ts';
import { addTestSource, retireTestSecret, rotateTestSource } from '../../shared/test/webhook-sources.ts';

const RUNS = 300;
const IN_FLIGHT = 8;
const MAX_EVENT_BYTES = 64 * 1024;
const TENANT = 'owner';

let iso: Isolation;
const services: ServiceHandle[] = [];
const writers: ServiceHandle[] = [];
let query: ServiceHandle;
let reader: CreatedKey;
const tag = uniqueName('hw');

interface Source {
  readonly provider: Provider;
  readonly id: string;
  readonly secret: string;
  readonly retired: string;
}
const sources: Source[] = [];

before(async () => {
  iso = await isolate('hostilewh');
  const relay = await createTestKey(iso.databaseUrl, { tenant: 'sluice', scopes: ['events:relay'] });
  reader = await createTestKey(iso.databaseUrl, { tenant: TENANT, scopes: ['windows:read'] });
  for (const provider of ['github', 'stripe', 'standard-webhooks', 'shopify', 'slack', 'hmac'] as const) {
    const retired = freshSecret(provider);
    const added = await addTestSource(iso.databaseUrl, {
      tenant: TENANT,
      provider,
      secret: retired,
      ...(provider === 'hmac' ? { options: { hmac: HMAC_SCHEME } } : {}),
    });
    // Rotated, then the old secret retired: deliveries signed with it must be 401s.
    const secret = freshSecret(provider);
    await rotateTestSource(iso.databaseUrl, added.id, secret);
    await retireTestSecret(iso.databaseUrl, added.id);
    sources.push({ provider, id: added.id, secret, retired });
  }
  const env = {
    ...iso.env,
    SLUICE_AUTH: 'on',
    SLUICE_OPS_OPEN: 'true',
    SLUICE_TRACE_SAMPLE_RATIO: '0',
    SLUICE_MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
    SLUICE_LOG_LEVEL: 'info',
  };
  const ingest = await startService('ingest', env);
  services.push(ingest, await startService('processor', env));
  query = await startService('query', env);
  services.push(query);
  const edgeEnv = { ...env, SLUICE_INGEST_URL: ingest.url, SLUICE_EDGE_INGEST_KEY: relay.key };
  const edges = [await startService('edge', edgeEnv, 'deno'), await startService('edge', edgeEnv, 'bun')];
  services.push(...edges);
  writers.push(ingest, ...edges);
});

after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await iso?.cleanup();
});

type Signing =
  | 'valid'
  | 'none'
  | 'garbage'
  | 'huge-header'
  | 'other-secret'
  | 'retired-secret'
  | 'stale'
  | 'future'
  | 'tampered';
type Body = 'fair' | 'nul-text' | 'lone-surrogate' | 'deep' | 'not-json' | 'not-utf8' | 'oversized';
type Path = 'real' | 'unknown' | 'garbage';

interface Delivery {
  readonly writer: number;
  readonly source: number;
  readonly path: Path;
  readonly garbagePath: string;
  readonly signing: Signing;
  readonly body: Body;
  readonly deliverySlot: number;
  readonly note: string;
}

const delivery: fc.Arbitrary<Delivery> = fc.record({
  writer: fc.nat(2),
  source: fc.nat(5),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constant<Path>('real') },
    fc.constantFrom<Path>('unknown', 'garbage'),
  ),
  garbagePath: fc.constantFrom(
    'wh_',
    'WH_AAAAAAAAAAAAAAAAAAAAAAAAAA',
    '..%2F..%2Fetc%2Fpasswd',
    '%00',
    'x'.repeat(4_000),
    "wh_' or 1=1 --",
    encodeURIComponent('wh_ñññññññññññññññññññññññññ'),
  ),
  signing: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Signing>('valid') },
    fc.constantFrom<Signing>(
      'none',
      'garbage',
      'huge-header',
      'other-secret',
      'retired-secret',
      'stale',
      'future',
      'tampered',
    ),
  ),
  body: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Body>('fair') },
    fc.constantFrom<Body>('nul-text', 'lone-surrogate', 'deep', 'not-json', 'not-utf8', 'oversized'),
  ),
  deliverySlot: fc.nat(30),
  note: fc.string({ maxLength: 40 }),
});

/** What the provider's delivery of this id is about: fixed per id, as a real provider's is. */
function aboutOf(provider: Provider, id: string): { type: string; account: string } {
  const n = Number(id.slice(id.lastIndexOf('-') + 1)) % 3;
  const account =
    provider === 'stripe' || provider === 'github' || provider === 'shopify' || provider === 'slack';
  return { type: `${tag}.t${n}`, account: account ? `acct-${n}` : '' };
}

function payload(provider: Provider, id: string, note: string): Record<string, unknown> {
  const { type, account } = aboutOf(provider, id);
  switch (provider) {
    case 'github':
      return { action: 'opened', repository: { full_name: account }, note };
    case 'stripe':
      return { id, object: 'event', type, account, created: 1_700_000_000, data: { object: { note } } };
    case 'standard-webhooks':
      return { type, data: { note } };
    case 'shopify':
      return { id: 1, note };
    case 'slack':
      return { type: 'event_callback', event_id: id, team_id: account, event: { type, text: note } };
    case 'hmac':
      return { note };
  }
}

function bodyBytes(kind: Body, provider: Provider, id: string, note: string): Buffer {
  const fair = JSON.stringify(payload(provider, id, note));
  switch (kind) {
    case 'fair':
      return Buffer.from(fair);
    case 'nul-text':
      return Buffer.from(fair.replace(/}$/, ',"x":"a\\u0000b"}'));
    case 'lone-surrogate':
      return Buffer.from(fair.replace(/}$/, ',"x":"\\ud800"}'));
    case 'deep':
      return Buffer.from(fair.replace(/}$/, `,"x":${'['.repeat(60)}${']'.repeat(60)}}`));
    case 'not-json':
      return Buffer.from(`${fair.slice(0, -1)},`);
    case 'not-utf8':
      return Buffer.concat([Buffer.from(fair.slice(0, -1)), Buffer.from([0xff, 0xfe]), Buffer.from('}')]);
    case 'oversized':
      return Buffer.from(fair.replace(/}$/, `,"x":"${'a'.repeat(MAX_EVENT_BYTES)}"}`));
  }
}

const mac = (algorithm: 'sha256' | 'sha512', key: Buffer | string, content: Buffer) =>
  createHmac(algorithm, key).update(content).digest();

interface Signed {
  readonly headers: Record<string, string>;
  /** Every MAC a correct signature of this request would carry, hex and base64: never echoed. */
  readonly expected: string[];
}

/** The provider's headers for `body`, signed with `secret` at `seconds`. */
function sign(source: Source, id: string, body: Buffer, secret: string, seconds: number): Signed {
  const { type, account } = aboutOf(source.provider, id);
  const at = (prefix: string) => Buffer.concat([Buffer.from(prefix), body]);
  switch (source.provider) {
    case 'github': {
      const m = mac('sha256', secret, body);
      return {
        headers: {
          'x-hub-signature-256': `sha256=${m.toString('hex')}`,
          'x-github-delivery': id,
          'x-github-event': type,
        },
        expected: [m.toString('hex')],
      };
    }
    case 'stripe': {
      const m = mac('sha256', secret, at(`${seconds}.`));
      return {
        headers: { 'stripe-signature': `t=${seconds},v1=${m.toString('hex')}` },
        expected: [m.toString('hex')],
      };
    }
    case 'standard-webhooks': {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const m = mac('sha256', key, at(`${id}.${seconds}.`));
      return {
        headers: {
          'webhook-id': id,
          'webhook-timestamp': String(seconds),
          'webhook-signature': `v1,${m.toString('base64')}`,
        },
        expected: [m.toString('base64')],
      };
    }
    case 'shopify': {
      const m = mac('sha256', secret, body);
      return {
        headers: {
          'x-shopify-hmac-sha256': m.toString('base64'),
          'x-shopify-webhook-id': id,
          'x-shopify-topic': type,
          'x-shopify-shop-domain': account,
        },
        expected: [m.toString('base64')],
      };
    }
    case 'slack': {
      const m = mac('sha256', secret, at(`v0:${seconds}:`));
      return {
        headers: {
          'x-slack-signature': `v0=${m.toString('hex')}`,
          'x-slack-request-timestamp': String(seconds),
        },
        expected: [m.toString('hex')],
      };
    }
    case 'hmac': {
      const m = mac('sha512', secret, at(`${id}.${seconds}.`));
      return {
        headers: {
          'x-signature': `sha512=${m.toString('base64')}`,
          'x-timestamp': String(seconds),
          'x-delivery': id,
          'x-event': type,
        },
        expected: [m.toString('base64')],
      };
    }
  }
}

interface Request {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly expected: string[];
  readonly demand: number;
}

function build(d: Delivery): Request {
  const writer = writers[d.writer % writers.length];
  const source = sources[d.source % sources.length];
  assert.ok(writer !== undefined && source !== undefined);
  const id = `${tag}-${source.provider}-${d.deliverySlot}`;
  const path = d.path === 'real' ? source.id : d.path === 'unknown' ? `wh_${'a'.repeat(26)}` : d.garbagePath;
  const now = Math.floor(Date.now() / 1000);
  // A signing that needs a timestamp is a valid one for a provider that signs none.
  const signing =
    !TIMED.has(source.provider) && (d.signing === 'stale' || d.signing === 'future') ? 'valid' : d.signing;
  const seconds = signing === 'stale' ? now - 3_600 : signing === 'future' ? now + 3_600 : now;
  const body = bodyBytes(d.body, source.provider, id, d.note);
  const secret =
    signing === 'other-secret'
      ? freshSecret(source.provider)
      : signing === 'retired-secret'
        ? source.retired
        : source.secret;
  const signed = sign(source, id, body, secret, seconds);
  const correct = sign(source, id, body, source.secret, seconds);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...signed.headers };
  const header = SIGNATURE_HEADER[source.provider];
  if (signing === 'none') delete headers[header];
  if (signing === 'garbage') headers[header] = 'v1=zz,t=;;sha256=\u00e9';
  if (signing === 'huge-header') headers[header] = `sha256=${'ab'.repeat(4_000)}`;
  const sent = signing === 'tampered' ? Buffer.concat([body.subarray(0, -1), Buffer.from(' }')]) : body;
  // The contract, in the order the route judges: the source, the size, the signature, the body.
  const demand =
    d.path !== 'real'
      ? 404
      : sent.length > MAX_EVENT_BYTES
        ? 413
        : signing !== 'valid'
          ? 401
          : d.body === 'fair'
            ? 200
            : 400;
  // Header values must be ByteStrings for fetch: the garbage one is sent as its UTF-8 bytes.
  for (const [name, value] of Object.entries(headers)) headers[name] = Buffer.from(value).toString('latin1');
  return {
    url: `${writer.url}/v1/webhooks/${path}`,
    headers,
    body: sent,
    expected: [...correct.expected, source.secret],
    demand,
  };
}

/** Delivery ids that got a 200, by the group key of their windows. */
const accepted = new Map<string, Set<string>>();
const breaches: string[] = [];

async function send(d: Delivery): Promise<void> {
  const request = build(d);
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  const text = await response.text();
  const what = `${request.url.slice(0, 80)} ${JSON.stringify(d).slice(0, 200)}`;
  if (response.status !== request.demand)
    breaches.push(`${what}: ${response.status} (wanted ${request.demand}) ${text.slice(0, 200)}`);
  for (const secret of request.expected)
    if (text.includes(secret)) breaches.push(`${what}: the answer names an expected MAC or a secret`);
  if (response.status === 200) {
    const body = JSON.parse(text) as { id: string };
    const source = sources[d.source % sources.length];
    assert.ok(source !== undefined);
    const { type, account } = aboutOf(source.provider, body.id);
    const key = JSON.stringify([source.provider, type, account]);
    const ids = accepted.get(key) ?? new Set<string>();
    ids.add(body.id);
    accepted.set(key, ids);
  } else {
    // Every refusal is the one envelope (a 404 of a garbage path included).
    let code: unknown;
    try {
      code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    } catch {
      code = undefined;
    }
    if (typeof code !== 'string') breaches.push(`${what}: not the error envelope: ${text.slice(0, 200)}`);
  }
}

test('no delivery gets past its signature, into a 5xx, or an answer naming a MAC', {
  timeout: 300_000,
}, async () => {
  const samples = fc.sample(delivery, { numRuns: RUNS, seed: 22 });
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let d = samples[next++]; d !== undefined; d = samples[next++]) await send(d);
    }),
  );
  assert.deepEqual(breaches.slice(0, 20), [], `${breaches.length} breaches`);
  assert.ok(accepted.size > 0, 'some deliveries were accepted');
});

test('after the storm: every accepted delivery is counted exactly once, and no secret is in a log', {
  timeout: 120_000,
}, async () => {
  const want = new Map([...accepted].map(([key, ids]) => [key, ids.size]));
  const from = new Date(Date.now() - 2 * 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const counted = await waitFor(
    async () => {
      const response = await fetch(
        `${query.url}/v1/streams/webhooks/windows?window=1h&from=${from}&to=${to}&limit=1000`,
        { headers: bearer(reader.key) },
      );
      const page = (await response.json()) as { data: { key: string; values: { deliveries: number } }[] };
      const got = new Map<string, number>();
      for (const row of page.data) got.set(row.key, (got.get(row.key) ?? 0) + row.values.deliveries);
      return [...want].every(([key, n]) => got.get(key) === n) ? got : undefined;
    },
    { timeoutMs: 60_000, what: 'the webhooks windows to count every accepted delivery' },
  );
  assert.deepEqual(counted, want);
  for (const service of services)
    for (const source of sources)
      for (const secret of [source.secret, source.retired])
        assert.ok(!service.output().includes(secret), `a webhook secret in ${service.name}'s output`);
});
