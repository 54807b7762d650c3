// Signed webhooks end to end (issue 22), on real Kafka, PostgreSQL and Redis with ingest
// (SLUICE_AUTH=on), the processor and query. Deliveries are signed by independent implementations
// (shared/test/webhook-deliveries.ts: the providers' packages, node:crypto). For every provider and
// every entry point:
// - a valid delivery is a 200, its redelivery (re-signed with a new timestamp where the scheme
//   signs one) a 200 with redelivery: true, and the webhooks windows count it exactly once (1m, 1h);
// - a wrong signature, a missing signature header, a stale or future timestamp and a body changed
//   after signing are each a 401 with the reason;
// - during a rotation both secrets are accepted; once the previous one is retired, it is a 401
//   within ~2 s;
// - another tenant's read key sees none of it.
// And: Slack's url_verification answers the challenge and counts nothing; a source mapped onto
// `ecommerce` lands a valid ecommerce event; the tenant's daily quota applies to deliveries (429).
//
// ENTRY_POINTS is where deliveries are posted: ingest, and the edge on Deno and on Bun (each gets
// its own delivery types, so their windows are asserted apart).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CreatedKey } from '../../shared/src/auth/key-store.ts';
import type { Provider } from '../../shared/src/webhooks/source.ts';
import { PROVIDERS } from '../../shared/src/webhooks/source.ts';
import { uniqueName, waitFor } from '../../shared/test/harness.ts';
import { bearer, createTestKey, setTestQuota } from '../../shared/test/keys.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import type { DeliveryFacts } from '../../shared/test/webhook-deliveries.ts';
import {
  freshSecret,
  githubExample,
  HMAC_SCHEME,
  SIGNATURE_HEADER,
  signDelivery,
  stripeEvent,
  TIMED,
} from '../../shared/test/webhook-deliveries.ts';
import { addTestSource, retireTestSecret, rotateTestSource } from '../../shared/test/webhook-sources.ts';

const TENANT = 'acme';
const OTHER = 'bigco';
const QUOTA_TENANT = 'metered';

/** What an entry point is started with: the pipeline, its ingest and the edge's relay key. */
interface Started {
  readonly pipeline: TestPipeline;
  readonly ingest: ServiceHandle;
  readonly relayKey: string;
}

interface EntryPoint {
  readonly name: string;
  /** Starts what it needs and gives the base URL deliveries are posted to. */
  start(started: Started): Promise<string>;
}

/** An edge on `runtime` in front of the pipeline's ingest, with the relay key it asks sources with. */
const edge =
  (runtime: 'deno' | 'bun'): EntryPoint['start'] =>
  async ({ pipeline, ingest, relayKey }) =>
    (
      await pipeline.start(
        'edge',
        { SLUICE_INGEST_URL: ingest.url, SLUICE_EDGE_INGEST_KEY: relayKey },
        runtime,
      )
    ).url;

/** Where deliveries enter: ingest, and the edge on Deno and on Bun (which verifies, then relays). */
const ENTRY_POINTS: readonly EntryPoint[] = [
  { name: 'ingest', start: async ({ ingest }) => ingest.url },
  { name: 'edge-deno', start: edge('deno') },
  { name: 'edge-bun', start: edge('bun') },
];
const entryUrls = new Map<string, string>();

let pipeline: TestPipeline;
let ingest: ServiceHandle;
let query: ServiceHandle;
let reader: CreatedKey;
let otherReader: CreatedKey;
const tag = uniqueName('wh').replace(/[^a-z0-9]/gi, '');

/** Every delivery that got a 200, by its windows' key [provider, type, account]: the ids. */
const counted = new Map<string, Set<string>>();
const keyOf = (provider: Provider, type: string, account: string) =>
  JSON.stringify([provider, type, account]);

function count(provider: Provider, type: string, account: string, id: string): void {
  const key = keyOf(provider, type, account);
  const ids = counted.get(key) ?? new Set<string>();
  ids.add(id);
  counted.set(key, ids);
}

before(async () => {
  pipeline = await testPipeline('webhooks', {
    SLUICE_AUTH: 'on',
    SLUICE_OPS_OPEN: 'true',
    SLUICE_IDLE_TIMEOUT_MS: '4000',
    SLUICE_TICK_MS: '250',
    SLUICE_TRACE_SAMPLE_RATIO: '0',
  });
  reader = await createTestKey(pipeline.iso.databaseUrl, { tenant: TENANT, scopes: ['windows:read'] });
  otherReader = await createTestKey(pipeline.iso.databaseUrl, { tenant: OTHER, scopes: ['windows:read'] });
  ingest = await pipeline.start('ingest');
  await pipeline.start('processor');
  query = await pipeline.start('query');
  const relay = await createTestKey(pipeline.iso.databaseUrl, { tenant: 'sluice', scopes: ['events:relay'] });
  for (const entry of ENTRY_POINTS)
    entryUrls.set(entry.name, await entry.start({ pipeline, ingest, relayKey: relay.key }));
});

after(async () => {
  await pipeline?.close();
});

interface Posted {
  readonly status: number;
  readonly body: {
    redelivery?: boolean;
    id?: string;
    challenge?: string;
    error?: { code: string; details?: { reason?: string } };
  };
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<Posted> {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Posted['body'] };
}

/** Waits until ingest knows the source (404 until its table has it: NOTIFY, then a 1 s poll). */
async function untilKnown(url: string): Promise<void> {
  await waitFor(
    async () => ((await fetch(url, { method: 'POST', body: '{}' })).status === 404 ? undefined : true),
    { timeoutMs: 10_000, intervalMs: 100, what: `the source at ${url}` },
  );
}

/** A delivery of `provider` of type `type`: its body and facts (the type where the provider puts it). */
function delivery(
  provider: Provider,
  type: string,
  id: string,
): { body: string; facts: DeliveryFacts; account: string } {
  switch (provider) {
    case 'github': {
      const body = githubExample('push');
      return { body: JSON.stringify(body), facts: { id, type }, account: 'Codertocat/Hello-World' };
    }
    case 'stripe':
      return {
        body: JSON.stringify(stripeEvent(id, type, 'acct_1Abc')),
        facts: { id, type },
        account: 'acct_1Abc',
      };
    case 'standard-webhooks':
      return { body: JSON.stringify({ type, data: { id: `inv_${id}` } }), facts: { id, type }, account: '' };
    case 'shopify':
      return {
        body: JSON.stringify({ id: 820982911946154500, total_price: '199.65' }),
        facts: { id, type, account: 'acme.myshopify.com' },
        account: 'acme.myshopify.com',
      };
    case 'slack':
      return {
        body: JSON.stringify({
          team_id: 'T0001',
          type: 'event_callback',
          event_id: id,
          event: { type, user: 'U0001', text: 'hello' },
        }),
        facts: { id, type },
        account: 'T0001',
      };
    case 'hmac':
      return { body: JSON.stringify({ order: { id } }), facts: { id, type }, account: '' };
  }
}

for (const entry of ENTRY_POINTS) {
  describe(`deliveries through ${entry.name}`, () => {
    const base = () => entryUrls.get(entry.name) ?? assert.fail(`${entry.name} did not start`);
    for (const provider of PROVIDERS) {
      it(`${provider}: valid once, redelivered once, forgeries refused, secrets rotated`, {
        timeout: 60_000,
      }, async () => {
        const old = freshSecret(provider);
        const source = await addTestSource(pipeline.iso.databaseUrl, {
          tenant: TENANT,
          provider,
          secret: old,
          ...(provider === 'hmac' ? { options: { hmac: HMAC_SCHEME } } : {}),
        });
        const url = `${base()}${source.url}`;
        await untilKnown(url);
        const typeOf = (what: string) => `${tag}.${entry.name}.${what}`;
        const now = () => Math.floor(Date.now() / 1000);

        // Valid, then redelivered with the same id (re-signed later where a timestamp is signed).
        const main = delivery(provider, typeOf('main'), `${tag}-${provider}-main`);
        const first = await post(url, await signDelivery(provider, old, main.body, main.facts), main.body);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.redelivery, false);
        count(provider, typeOf('main'), main.account, main.facts.id);
        const resigned = await signDelivery(provider, old, main.body, { ...main.facts, seconds: now() + 2 });
        const again = await post(url, resigned, main.body);
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.redelivery, true);
        assert.equal(again.body.id, first.body.id);

        // Refused, each with its reason, none counted.
        const refusals: [string, Record<string, string>, string, string][] = [];
        refusals.push([
          'wrong signature',
          await signDelivery(provider, freshSecret(provider), main.body, main.facts),
          main.body,
          'bad_signature',
        ]);
        const missing = await signDelivery(provider, old, main.body, main.facts);
        delete missing[SIGNATURE_HEADER[provider]];
        refusals.push(['missing signature header', missing, main.body, 'missing_signature']);
        refusals.push([
          'body changed after signing',
          await signDelivery(provider, old, main.body, main.facts),
          main.body.replace(/}$/, ',"extra":1}'),
          'bad_signature',
        ]);
        if (TIMED.has(provider)) {
          for (const [what, seconds] of [
            ['stale', now() - 3_600],
            ['future', now() + 3_600],
          ] as const)
            refusals.push([
              `${what} timestamp`,
              await signDelivery(provider, old, main.body, { ...main.facts, seconds }),
              main.body,
              'stale_timestamp',
            ]);
        }
        for (const [what, headers, body, reason] of refusals) {
          const refused = await post(url, headers, body);
          assert.equal(refused.status, 401, `${what}: ${JSON.stringify(refused.body)}`);
          assert.equal(refused.body.error?.code, 'unauthorized', what);
          assert.equal(refused.body.error?.details?.reason, reason, what);
        }

        // A rotation: the new secret accepted as soon as ingest has it, the old one still too.
        const fresh = freshSecret(provider);
        await rotateTestSource(pipeline.iso.databaseUrl, source.id, fresh);
        const byNew = delivery(provider, typeOf('rotated'), `${tag}-${provider}-new`);
        await waitFor(
          async () => {
            const sent = await post(
              url,
              await signDelivery(provider, fresh, byNew.body, byNew.facts),
              byNew.body,
            );
            return sent.status === 200 ? sent : undefined;
          },
          { timeoutMs: 5_000, intervalMs: 100, what: 'the new secret to be accepted' },
        );
        count(provider, typeOf('rotated'), byNew.account, byNew.facts.id);
        const byOld = delivery(provider, typeOf('rotated'), `${tag}-${provider}-old`);
        const oldAccepted = await post(
          url,
          await signDelivery(provider, old, byOld.body, byOld.facts),
          byOld.body,
        );
        assert.equal(
          oldAccepted.status,
          200,
          `the previous secret during the overlap: ${JSON.stringify(oldAccepted.body)}`,
        );
        count(provider, typeOf('rotated'), byOld.account, byOld.facts.id);

        // Retired: the old secret is a 401 within ~2 s (one delivery id, so an early 200 counts once).
        await retireTestSecret(pipeline.iso.databaseUrl, source.id);
        const retired = delivery(provider, typeOf('retired'), `${tag}-${provider}-retired`);
        const retiredAt = Date.now();
        await waitFor(
          async () => {
            const sent = await post(
              url,
              await signDelivery(provider, old, retired.body, retired.facts),
              retired.body,
            );
            if (sent.status === 200) count(provider, typeOf('retired'), retired.account, retired.facts.id);
            return sent.status === 401 && sent.body.error?.details?.reason === 'bad_signature'
              ? true
              : undefined;
          },
          { timeoutMs: 3_000, intervalMs: 100, what: 'the retired secret to be refused' },
        );
        assert.ok(Date.now() - retiredAt < 2_500, 'refused within ~2 s of the retirement');
        const stillNew = await post(
          url,
          await signDelivery(provider, fresh, byNew.body, byNew.facts),
          byNew.body,
        );
        assert.equal(stillNew.status, 200, 'the new secret after the retirement');
        assert.equal(stillNew.body.redelivery, true);
      });
    }

    it('slack url_verification answers the challenge and produces nothing', async () => {
      const secret = freshSecret('slack');
      const source = await addTestSource(pipeline.iso.databaseUrl, {
        tenant: TENANT,
        provider: 'slack',
        secret,
      });
      const url = `${base()}${source.url}`;
      await untilKnown(url);
      const challenge = `${tag}-challenge-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P`;
      const body = JSON.stringify({ token: 'x', challenge, type: 'url_verification' });
      const answered = await post(url, await signDelivery('slack', secret, body, { id: '', type: '' }), body);
      assert.deepEqual(answered, { status: 200, body: { challenge } });
      // Not answered for a forger.
      const forged = await post(
        url,
        await signDelivery('slack', freshSecret('slack'), body, { id: '', type: '' }),
        body,
      );
      assert.equal(forged.status, 401);
      assert.equal(forged.body.challenge, undefined);
    });
  });
}

const span = () => ({
  from: new Date(Date.now() - 2 * 3_600_000).toISOString(),
  to: new Date(Date.now() + 3_600_000).toISOString(),
});

interface WindowRow {
  readonly key: string;
  readonly window_start: string;
  readonly values: Record<string, number>;
}

async function windows(stream: string, window: string, key: CreatedKey, extra = ''): Promise<WindowRow[]> {
  const { from, to } = span();
  const response = await fetch(
    `${query.url}/v1/streams/${stream}/windows?window=${window}&from=${from}&to=${to}&limit=1000${extra}`,
    { headers: bearer(key.key) },
  );
  const page = (await response.json()) as { data?: WindowRow[] };
  assert.equal(response.status, 200, JSON.stringify(page));
  return page.data ?? [];
}

describe('the webhooks windows', () => {
  for (const window of ['1m', '1h']) {
    it(`count each accepted delivery exactly once in ${window} windows, for its tenant only`, {
      timeout: 90_000,
    }, async () => {
      const want = new Map([...counted].map(([key, ids]) => [key, ids.size]));
      assert.ok(want.size >= PROVIDERS.length * 2, 'deliveries of every provider were accepted');
      for (const entry of ENTRY_POINTS)
        for (const provider of PROVIDERS)
          assert.equal(
            want.get(keyOf(provider, `${tag}.${entry.name}.main`, delivery(provider, '', '').account)),
            1,
            `${provider} through ${entry.name}: the valid delivery and its redelivery are one`,
          );
      const got = await waitFor(
        async () => {
          const rows = await windows('webhooks', window, reader, '&group_by=provider,type,account');
          const sums = new Map<string, number>();
          for (const row of rows) sums.set(row.key, (sums.get(row.key) ?? 0) + (row.values.deliveries ?? 0));
          return [...want].every(([key, n]) => sums.get(key) === n) ? sums : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          what: `the ${window} webhooks windows to count every delivery`,
        },
      );
      // Nothing else of this run: no refused delivery, no url_verification, no double count; and
      // still so a moment later (a late duplicate would have landed by then).
      const ours = (sums: Map<string, number>) =>
        new Map([...sums].filter(([key]) => key.includes(tag) || key.includes('url_verification')));
      assert.deepEqual(ours(got), want);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const later = new Map<string, number>();
      for (const row of await windows('webhooks', window, reader, '&group_by=provider,type,account'))
        later.set(row.key, (later.get(row.key) ?? 0) + (row.values.deliveries ?? 0));
      assert.deepEqual(ours(later), want);
      assert.deepEqual(
        await windows('webhooks', window, otherReader),
        [],
        `${OTHER} sees none of ${TENANT}'s`,
      );
    });
  }
});

describe('a source mapped onto ecommerce', () => {
  it('lands a valid ecommerce event, counted in its tenant windows', { timeout: 60_000 }, async () => {
    const secret = freshSecret('hmac');
    const category = `${tag}-webhook-books`;
    const source = await addTestSource(pipeline.iso.databaseUrl, {
      tenant: TENANT,
      provider: 'hmac',
      secret,
      stream: 'ecommerce',
      options: {
        hmac: HMAC_SCHEME,
        mapping: {
          transaction_id: '/delivery_id',
          user_id: '/payload/order/customer',
          product_category: '/payload/order/category',
          product_name: '/payload/order/name',
          amount: '/payload/order/amount',
          timestamp: '/payload/order/paid_at',
          payment_method: '/payload/order/method',
        },
      },
    });
    const url = `${ingest.url}${source.url}`;
    await untilKnown(url);
    const order = {
      customer: 'cus_1',
      category,
      name: 'A book',
      amount: 24.99,
      paid_at: new Date().toISOString(),
      method: 'card',
    };
    const body = JSON.stringify({ type: 'order.paid', order });
    const facts = { id: `${tag}-order-1`, type: 'order.paid' };
    const sent = await post(url, await signDelivery('hmac', secret, body, facts), body);
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.deepEqual(sent.body, { id: facts.id, stream: 'ecommerce', redelivery: false });
    const rows = await waitFor(
      async () => {
        const found = (await windows('ecommerce', '1m', reader)).filter((r) => r.key === category);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the mapped delivery in the ecommerce windows' },
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.values.count, 1);
    assert.equal(rows[0]?.values.sum_amount, 24.99);
    assert.ok(!(await windows('ecommerce', '1m', otherReader)).some((r) => r.key === category));
  });
});

describe('the daily quota', () => {
  it('applies to deliveries: 429 past it, with Retry-After', { timeout: 30_000 }, async () => {
    await setTestQuota(pipeline.iso.databaseUrl, QUOTA_TENANT, 2);
    const secret = freshSecret('github');
    const source = await addTestSource(pipeline.iso.databaseUrl, {
      tenant: QUOTA_TENANT,
      provider: 'github',
      secret,
    });
    const url = `${ingest.url}${source.url}`;
    await untilKnown(url);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 4 && refused === undefined; i++) {
      const d = delivery('github', 'push', `${tag}-quota-${i}`);
      const response = await fetch(url, {
        method: 'POST',
        headers: await signDelivery('github', secret, d.body, d.facts),
        body: d.body,
      });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
      else await response.arrayBuffer();
      // Usage is added in Redis within 100 ms and a lease lasts 250 ms (ingest/src/main.ts): the
      // quota is exact for deliveries further apart than that, as a provider's usually are.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.ok(refused !== undefined);
    const body = (await refused.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After is set');
    // The refused delivery, retried once the quota allows it (raised here; a new day in life), is
    // a first delivery: a 429 records no first-seen time, which would make it a "redelivery" of
    // nothing, with an event time as old as the refusal (hours, for Stripe's retries: late).
    await setTestQuota(pipeline.iso.databaseUrl, QUOTA_TENANT, 100);
    const retried = delivery('github', 'push', `${tag}-quota-2`);
    const accepted = await waitFor(
      async () => {
        const sent = await post(
          url,
          await signDelivery('github', secret, retried.body, retried.facts),
          retried.body,
        );
        return sent.status === 200 ? sent : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 200, what: 'the raised quota' },
    );
    assert.equal(accepted.body.redelivery, false, 'a delivery refused with 429 is not a redelivery later');
  });
});
