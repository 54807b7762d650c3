// POST /v1/webhooks/{id} at the edge on Deno and on Bun (issue 22, item 2), real processes before a
// real ingest with auth on (the edge learns sources with its relay key): a GitHub delivery signed
// by @octokit/webhooks-methods and a Stripe one signed by stripe's own test header are 200 and land
// in Kafka as the source's tenant's events; Slack's url_verification gets its challenge back; a
// wrong signature, a missing one, a stale one and a
// body changed after signing are 401 at the edge and never reach ingest (the edge counts them,
// ingest's refusal counter never moves and it accepted exactly the valid deliveries); an unknown
// source is 404, an oversized body 413, and a removed source is 404 at the edge within ~3 s; no
// secret nor key in any service's output.

import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import type { CreatedKey } from '../../shared/src/auth/key-store.ts';
import type { SourceInfo } from '../../shared/src/webhooks/source-store.ts';
import { waitFor } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { bearer, createTestKey } from '../../shared/test/keys.ts';
import type { Runtime, ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { addTestSource, removeTestSource } from '../../shared/test/webhook-sources.ts';

const RUNTIMES: Runtime[] = ['deno', 'bun'];
const TENANT = 'acme';
const MAX_EVENT_BYTES = 64 * 1024;
const GITHUB_SECRET = "It's a Secret to Everybody";
const STRIPE_SECRET = `whsec_${'s'.repeat(32)}`;
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const stripe = new Stripe('sk_test_x');

let p: TestPipeline;
let relay: CreatedKey;
let ingest: ServiceHandle;
let github: SourceInfo;
let stripeSource: SourceInfo;
let slack: SourceInfo;
const edges = new Map<Runtime, ServiceHandle>();
/** Every delivery an edge answered 200, by its id: what Kafka must hold, each once. */
const delivered = new Map<string, { provider: string; type: string; account: string }>();
/** Refusals each edge must have counted, by `provider,reason`. */
const refusedAtEdge = new Map<Runtime, Map<string, number>>();

/** Waits until ingest (and so the edge's next ask) knows the source. */
async function visible(id: string): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${ingest.url}/v1/webhooks/sources/${id}`, { headers: bearer(relay.key) });
      await res.body?.cancel();
      return res.status === 200 ? true : undefined;
    },
    { timeoutMs: 10_000, what: `source ${id} at ingest` },
  );
}

before(async () => {
  p = await testPipeline('edge-webhooks');
  relay = await createTestKey(p.iso.databaseUrl, { tenant: 'sluice', scopes: ['events:relay'] });
  github = await addTestSource(p.iso.databaseUrl, {
    tenant: TENANT,
    provider: 'github',
    secret: GITHUB_SECRET,
  });
  stripeSource = await addTestSource(p.iso.databaseUrl, {
    tenant: TENANT,
    provider: 'stripe',
    secret: STRIPE_SECRET,
  });
  slack = await addTestSource(p.iso.databaseUrl, { tenant: TENANT, provider: 'slack', secret: SLACK_SECRET });
  const limits = { SLUICE_MAX_EVENT_BYTES: String(MAX_EVENT_BYTES), SLUICE_LOG_LEVEL: 'info' };
  ingest = await p.start('ingest', { SLUICE_AUTH: 'on', SLUICE_OPS_OPEN: 'true', ...limits });
  for (const runtime of RUNTIMES) {
    const edge = await p.start(
      'edge',
      {
        SLUICE_AUTH: 'on',
        SLUICE_OPS_OPEN: 'true',
        SLUICE_INGEST_URL: ingest.url,
        SLUICE_EDGE_INGEST_KEY: relay.key,
        ...limits,
      },
      runtime,
    );
    edges.set(runtime, edge);
    refusedAtEdge.set(runtime, new Map());
  }
  await visible(github.id);
  await visible(stripeSource.id);
  await visible(slack.id);
});

after(async () => {
  await p?.close();
});

function edgeOf(runtime: Runtime): ServiceHandle {
  const edge = edges.get(runtime);
  if (edge === undefined) throw new Error(`no edge on ${runtime}`);
  return edge;
}

interface Answer {
  readonly status: number;
  readonly json: {
    id?: string;
    stream?: string;
    redelivery?: boolean;
    error?: { code: string; message: string; details?: { reason?: string } };
  };
}

async function deliver(
  url: string,
  id: string,
  body: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const res = await fetch(`${url}/v1/webhooks/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Answer['json'] };
}

const githubBody = (repo: string) =>
  JSON.stringify({ action: 'opened', issue: { number: 1 }, repository: { full_name: repo } });

async function githubHeaders(body: string, secret = GITHUB_SECRET) {
  return {
    'x-hub-signature-256': await sign(secret, body),
    'x-github-delivery': randomUUID(),
    'x-github-event': 'issues',
    'user-agent': 'GitHub-Hookshot/test',
  };
}

const stripeBody = (id: string) =>
  JSON.stringify({
    id,
    object: 'event',
    type: 'charge.succeeded',
    account: 'acct_1',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'ch_1', amount: 1200 } },
  });

/** Asserts a 401 in the one envelope with the reason, and books it as the edge's refusal. */
function assertRefused(runtime: Runtime, answer: Answer, provider: string, reason: string): void {
  assert.equal(answer.status, 401, JSON.stringify(answer.json));
  assert.equal(answer.json.error?.code, 'unauthorized');
  assert.equal(answer.json.error?.details?.reason, reason);
  const counts = refusedAtEdge.get(runtime);
  assert.ok(counts !== undefined);
  const key = `${provider},${reason}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** A counter's samples from a /metrics text, by their `provider,reason` labels. */
async function refusalSamples(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const match of text.matchAll(
    /^sluice_webhook_refusals_total\{provider="([^"]+)",reason="([^"]+)"[^}]*\} (\d+)$/gm,
  ))
    samples.set(`${match[1]},${match[2]}`, Number(match[3]));
  return samples;
}

for (const runtime of RUNTIMES) {
  describe(`edge on ${runtime}`, () => {
    test('a GitHub delivery signed by @octokit/webhooks-methods is 200, as the source tenant', async () => {
      const body = githubBody(`acme/${runtime}`);
      const headers = await githubHeaders(body);
      const answer = await deliver(edgeOf(runtime).url, github.id, body, headers);
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.deepEqual(answer.json, {
        id: headers['x-github-delivery'],
        stream: 'webhooks',
        redelivery: false,
      });
      delivered.set(headers['x-github-delivery'], {
        provider: 'github',
        type: 'issues',
        account: `acme/${runtime}`,
      });
    });

    test("a Stripe delivery signed by stripe's generateTestHeaderString is 200", async () => {
      const id = `evt_${runtime}_${randomUUID().slice(0, 8)}`;
      const payload = stripeBody(id);
      const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
      const answer = await deliver(edgeOf(runtime).url, stripeSource.id, payload, {
        'stripe-signature': signature,
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.equal(answer.json.id, id);
      delivered.set(id, { provider: 'stripe', type: 'charge.succeeded', account: 'acct_1' });
    });

    test("Slack's url_verification, verified at the edge, is answered with its challenge (by ingest)", async () => {
      const challenge = `challenge-${runtime}-${randomUUID()}`;
      const body = JSON.stringify({ token: 'legacy', challenge, type: 'url_verification' });
      const timestamp = String(Math.floor(Date.now() / 1000));
      // Slack's documented scheme, computed here with node:crypto: v0= HMAC-SHA256 of v0:ts:body.
      const mac = createHmac('sha256', SLACK_SECRET).update(`v0:${timestamp}:${body}`).digest('hex');
      const answer = await deliver(edgeOf(runtime).url, slack.id, body, {
        'x-slack-signature': `v0=${mac}`,
        'x-slack-request-timestamp': timestamp,
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.deepEqual(answer.json, { challenge });
    });

    test('wrong, missing and stale signatures and a body changed after signing are 401 at the edge', async () => {
      const { url } = edgeOf(runtime);
      const body = githubBody('acme/forged');
      const wrong = await githubHeaders(body, 'another secret entirely');
      assertRefused(runtime, await deliver(url, github.id, body, wrong), 'github', 'bad_signature');
      const { 'x-hub-signature-256': _dropped, ...unsigned } = await githubHeaders(body);
      assertRefused(runtime, await deliver(url, github.id, body, unsigned), 'github', 'missing_signature');
      const signed = await githubHeaders(body);
      const changed = body.replace('forged', 'frged!');
      assertRefused(runtime, await deliver(url, github.id, changed, signed), 'github', 'bad_signature');

      const payload = stripeBody(`evt_forged_${runtime}`);
      const stale = stripe.webhooks.generateTestHeaderString({
        payload,
        secret: STRIPE_SECRET,
        timestamp: Math.floor(Date.now() / 1000) - 3_600,
      });
      assertRefused(
        runtime,
        await deliver(url, stripeSource.id, payload, { 'stripe-signature': stale }),
        'stripe',
        'stale_timestamp',
      );
      const wrongStripe = stripe.webhooks.generateTestHeaderString({
        payload,
        secret: 'whsec_not_the_secret',
      });
      assertRefused(
        runtime,
        await deliver(url, stripeSource.id, payload, { 'stripe-signature': wrongStripe }),
        'stripe',
        'bad_signature',
      );
      assertRefused(runtime, await deliver(url, stripeSource.id, payload, {}), 'stripe', 'missing_signature');
      // The edge counted each, by provider and reason.
      assert.deepEqual(await refusalSamples(url), refusedAtEdge.get(runtime));
    });

    test('an unknown source is 404, a garbage id 404, an oversized delivery 413, an empty one 400', async () => {
      const { url } = edgeOf(runtime);
      const body = githubBody('acme/none');
      const headers = await githubHeaders(body);
      for (const id of [`wh_${'a'.repeat(26)}`, 'wh_', 'x'.repeat(4_000), '..%2Fsources']) {
        const answer = await deliver(url, id, body, headers);
        assert.equal(answer.status, 404, id.slice(0, 40));
        assert.equal(answer.json.error?.code, 'not_found');
      }
      const big = JSON.stringify({ repository: { full_name: 'acme/big' }, pad: 'x'.repeat(MAX_EVENT_BYTES) });
      const tooLarge = await deliver(url, github.id, big, await githubHeaders(big));
      assert.equal(tooLarge.status, 413);
      assert.equal(tooLarge.json.error?.code, 'payload_too_large');
      // Chunked (no Content-Length): bounded while read.
      const chunks = new TextEncoder().encode(big);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < chunks.length; at += 8_192)
            controller.enqueue(chunks.subarray(at, at + 8_192));
          controller.close();
        },
      });
      const streamed = await fetch(`${url}/v1/webhooks/${github.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await githubHeaders(big)) },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.status, 413);
      await streamed.body?.cancel();
      const empty = await deliver(url, github.id, '', await githubHeaders(' '));
      assert.equal(empty.status, 400);
    });

    test('a removed source is 404 at the edge within ~3 s', async () => {
      const { url } = edgeOf(runtime);
      const source = await addTestSource(p.iso.databaseUrl, {
        tenant: TENANT,
        provider: 'github',
        secret: GITHUB_SECRET,
      });
      await visible(source.id);
      const body = githubBody(`acme/${runtime}-removed`);
      const headers = await githubHeaders(body);
      const answer = await deliver(url, source.id, body, headers);
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      delivered.set(headers['x-github-delivery'], {
        provider: 'github',
        type: 'issues',
        account: `acme/${runtime}-removed`,
      });
      // Cached at the edge now. A valid delivery is relayed and ingest's 404 (its table is pushed
      // by NOTIFY) comes back at once; the edge's own verdict must follow within ingest's reload
      // plus the edge's 2 s TTL: a forgery is a 401 while the edge still holds the source, 404 after.
      const forged = await githubHeaders(body, 'not the secret');
      assertRefused(runtime, await deliver(url, source.id, body, forged), 'github', 'bad_signature');
      await removeTestSource(p.iso.databaseUrl, source.id);
      const removedAt = Date.now();
      await waitFor(
        async () => {
          const res = await deliver(url, source.id, body, forged);
          if (res.status === 401) assertRefused(runtime, res, 'github', 'bad_signature');
          return res.status === 404 ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 100, what: 'the removed source refused at the edge' },
      );
      const elapsed = Date.now() - removedAt;
      const valid = await deliver(url, source.id, body, await githubHeaders(body));
      assert.equal(valid.status, 404, JSON.stringify(valid.json));
      assert.ok(elapsed < 4_000, `404 after ${elapsed} ms`);
    });
  });
}

test('Kafka holds exactly the delivered events, each once, as the source tenant', async () => {
  const records = await readTopic(
    (p.iso.env.SLUICE_KAFKA_BROKERS ?? '').split(','),
    `${p.iso.topicPrefix}webhooks`,
    delivered.size,
  );
  const byId = new Map<string, Record<string, unknown>>();
  for (const record of records) {
    const event = JSON.parse(record.value) as { id: string; tenant: string; data: Record<string, unknown> };
    assert.ok(!byId.has(event.id), `${event.id} once`);
    assert.equal(event.tenant, TENANT);
    byId.set(event.id, event.data);
  }
  assert.deepEqual([...byId.keys()].sort(), [...delivered.keys()].sort());
  for (const [id, want] of delivered) {
    const data = byId.get(id);
    assert.equal(data?.provider, want.provider, id);
    assert.equal(data?.type, want.type, id);
    assert.equal(data?.account, want.account, id);
    assert.equal(data?.delivery_id, id);
  }
});

test('no refused delivery reached ingest: its refusal counter never moved, it accepted only the valid', async () => {
  assert.deepEqual(await refusalSamples(ingest.url), new Map());
  const text = await (await fetch(`${ingest.url}/metrics`)).text();
  let accepted = 0;
  for (const match of text.matchAll(
    /^sluice_webhook_deliveries_total\{[^}]*outcome="accepted"[^}]*\} (\d+)$/gm,
  ))
    accepted += Number(match[1]);
  assert.equal(accepted, delivered.size);
});

test('no secret and no relay key in any service output', () => {
  for (const service of p.services) {
    const output = service.output();
    for (const secret of [GITHUB_SECRET, STRIPE_SECRET, SLACK_SECRET, relay.key])
      assert.ok(!output.includes(secret), `${service.name}: a secret in its output`);
  }
});
