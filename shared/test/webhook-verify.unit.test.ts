// verifyDelivery against deliveries signed by independent implementations (webhook-deliveries.ts:
// the providers' own packages, node:crypto), for every provider: valid ones accepted with the
// right id, type and account; wrong signatures, missing headers, stale and future timestamps,
// bodies changed after signing and rotated-out secrets refused with the reason; a secret still
// in its overlap accepted; one matching signature among several accepted; malformed headers
// refused, never thrown. Then deliveryToEvent: the webhooks record, a mapping, the source's tenant.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Result } from '../src/result.ts';
import { streamRegistry } from '../src/streams/registry.ts';
import { nodeMacs } from '../src/webhooks/node-macs.ts';
import type { Delivery, Refusal } from '../src/webhooks/scheme.ts';
import { macs, secretBytes } from '../src/webhooks/signing-keys.ts';
import type { Provider, SourceOptions, SourceSecret, WebhookSource } from '../src/webhooks/source.ts';
import { hmacSchemeSchema, PROVIDERS, secretProblem, sourceOptionsSchema } from '../src/webhooks/source.ts';
import { deliveryToEvent } from '../src/webhooks/to-event.ts';
import { verifyDelivery } from '../src/webhooks/verify.ts';
import type { DeliveryFacts } from './webhook-deliveries.ts';
import {
  freshSecret,
  githubExample,
  HMAC_SCHEME,
  SIGNATURE_HEADER,
  signDelivery,
  standardHeaderWith,
  stripeEvent,
  stripeHeaderWith,
  TIMED,
} from './webhook-deliveries.ts';

const NOW = Date.now();
const SECONDS = Math.floor(NOW / 1000);
const HOUR = 3_600_000;
const encoder = new TextEncoder();

function sourceOf(provider: Provider, secrets: SourceSecret[], options: Partial<SourceOptions> = {}) {
  const source: WebhookSource = {
    id: `wh_${'a'.repeat(26)}`,
    tenant: 'acme',
    provider,
    secrets,
    stream: 'webhooks',
    options: sourceOptionsSchema.parse({
      ...(provider === 'hmac' ? { hmac: HMAC_SCHEME } : {}),
      ...options,
    }),
  };
  return source;
}

/** One provider's fair delivery: its body and what it says of itself. */
interface Sample {
  readonly body: string;
  readonly facts: DeliveryFacts;
  readonly want: { id: string; type: string; account: string };
}

const push = githubExample('push');
const SAMPLES: Record<Provider, Sample> = {
  github: {
    body: JSON.stringify(push),
    facts: { id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', type: 'push' },
    want: { id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', type: 'push', account: 'Codertocat/Hello-World' },
  },
  stripe: {
    body: JSON.stringify(
      stripeEvent('evt_1PgXYZ2eZvKYlo2CabcDEF12', 'payment_intent.succeeded', 'acct_1Abc'),
    ),
    facts: { id: 'evt_1PgXYZ2eZvKYlo2CabcDEF12', type: 'payment_intent.succeeded' },
    want: { id: 'evt_1PgXYZ2eZvKYlo2CabcDEF12', type: 'payment_intent.succeeded', account: 'acct_1Abc' },
  },
  'standard-webhooks': {
    body: JSON.stringify({ type: 'invoice.paid', timestamp: '2026-12-04T10:00:00Z', data: { id: 'inv_1' } }),
    facts: { id: 'msg_2Lh9KsPoAXt4jZ4ZSoMHrQ8vjgb', type: 'invoice.paid' },
    want: { id: 'msg_2Lh9KsPoAXt4jZ4ZSoMHrQ8vjgb', type: 'invoice.paid', account: '' },
  },
  shopify: {
    body: JSON.stringify({ id: 820982911946154500, email: 'jon@example.com', total_price: '199.65' }),
    facts: {
      id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      type: 'orders/create',
      account: 'acme.myshopify.com',
    },
    want: {
      id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      type: 'orders/create',
      account: 'acme.myshopify.com',
    },
  },
  slack: {
    body: JSON.stringify({
      token: 'XXYYZZ',
      team_id: 'T0001',
      api_app_id: 'A0001',
      type: 'event_callback',
      event_id: 'Ev08MFMKH6',
      event_time: 1_733_300_000,
      event: { type: 'app_mention', user: 'U0001', text: '<@U0LAN0Z89> is it everything?', channel: 'C0001' },
    }),
    facts: { id: 'Ev08MFMKH6', type: 'app_mention' },
    want: { id: 'Ev08MFMKH6', type: 'app_mention', account: 'T0001' },
  },
  hmac: {
    body: JSON.stringify({ order: { id: 'o-1', total: 12.5 } }),
    facts: { id: 'dlv-0001', type: 'order.paid' },
    want: { id: 'dlv-0001', type: 'order.paid', account: '' },
  },
};

async function verify(
  source: WebhookSource,
  headers: Record<string, string>,
  body: string | Uint8Array<ArrayBuffer>,
  nowMs = NOW,
): Promise<Result<Delivery, Refusal>> {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  return verifyDelivery(source, { headers: new Headers(headers), body: bytes }, nowMs);
}

function refused(result: Result<Delivery, Refusal>, reason: string, status = 401) {
  assert.equal(result.ok, false, `accepted, wanted ${reason}`);
  if (result.ok) return;
  assert.deepEqual({ status: result.error.status, reason: result.error.reason }, { status, reason });
}

for (const provider of PROVIDERS) {
  const sample = SAMPLES[provider];
  const secret = freshSecret(provider);
  const source = sourceOf(provider, [{ value: secret, retiresAt: null }]);
  const signed = (facts: Partial<DeliveryFacts> = {}, withSecret = secret, body = sample.body) =>
    signDelivery(provider, withSecret, body, { ...sample.facts, ...facts });

  describe(`${provider} deliveries`, () => {
    it('a valid one is accepted with its id, type, account and payload', async () => {
      const result = await verify(source, await signed(), sample.body);
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.error));
      assert.deepEqual(
        { id: result.value.id, type: result.value.type, account: result.value.account },
        sample.want,
      );
      assert.deepEqual(result.value.payload, JSON.parse(sample.body));
    });

    it('a signature made with another secret is refused', async () => {
      refused(await verify(source, await signed({}, freshSecret(provider)), sample.body), 'bad_signature');
    });

    it('a delivery without its signature header is refused', async () => {
      const headers = await signed();
      delete headers[SIGNATURE_HEADER[provider]];
      refused(await verify(source, headers, sample.body), 'missing_signature');
    });

    it('a body changed after signing is refused (one byte, and re-serialised JSON)', async () => {
      const headers = await signed();
      refused(await verify(source, headers, `${sample.body} `), 'bad_signature');
      refused(
        await verify(source, headers, JSON.stringify(JSON.parse(sample.body), null, 1)),
        'bad_signature',
      );
      const flipped = encoder.encode(sample.body);
      flipped[10] = (flipped[10] ?? 0) ^ 1;
      refused(await verify(source, headers, flipped), 'bad_signature');
    });

    if (TIMED.has(provider)) {
      it('a timestamp beyond the tolerance, past or future, is refused; within it, accepted', async () => {
        const tolerance = source.options.toleranceSeconds;
        refused(
          await verify(source, await signed({ seconds: SECONDS - tolerance - 5 }), sample.body),
          'stale_timestamp',
        );
        refused(
          await verify(source, await signed({ seconds: SECONDS + tolerance + 5 }), sample.body),
          'stale_timestamp',
        );
        const late = await verify(source, await signed({ seconds: SECONDS - tolerance + 5 }), sample.body);
        assert.ok(late.ok, 'within the tolerance');
        // A source with a tighter tolerance holds to it.
        const tight = sourceOf(provider, source.secrets.slice(), { toleranceSeconds: 10 });
        refused(await verify(tight, await signed({ seconds: SECONDS - 30 }), sample.body), 'stale_timestamp');
      });
    }

    it('a rotated-out secret is refused; the previous secret in its overlap is accepted', async () => {
      const previous = freshSecret(provider);
      const current = { value: secret, retiresAt: null };
      const retired = sourceOf(provider, [current, { value: previous, retiresAt: NOW - 1 }]);
      const overlapping = sourceOf(provider, [current, { value: previous, retiresAt: NOW + HOUR }]);
      const byPrevious = await signed({}, previous);
      refused(await verify(retired, byPrevious, sample.body), 'bad_signature');
      assert.ok(
        (await verify(overlapping, byPrevious, sample.body)).ok,
        'the previous secret in its overlap',
      );
      assert.ok((await verify(overlapping, await signed(), sample.body)).ok, 'the current secret');
      assert.ok((await verify(retired, await signed(), sample.body)).ok, 'the current secret after');
    });

    it('malformed header values are refused, never thrown', async () => {
      const garbage = [
        '',
        ' ',
        '=',
        ',',
        'sha256=',
        'sha256=zz',
        'v0=',
        'v1,',
        't=,v1=',
        't=abc,v1=00',
        't=1,v1=0',
        'v1,!!!!',
        'v1=zz,t=;;sha256=\u00e9',
        `sha256=${'ab'.repeat(4_000)}`,
        'a'.repeat(10_000),
        ',,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,',
        `${'v1,AAAA '.repeat(100)}`,
        '\u0000',
        '9'.repeat(40),
      ];
      const base = await signed();
      for (const name of Object.keys(base)) {
        if (name === 'content-type') continue;
        for (const value of garbage) {
          const headers = { ...base };
          // Header values are ByteStrings: non-Latin-1 text arrives as its UTF-8 bytes.
          headers[name] = Buffer.from(value).toString('latin1').replace(/\0/g, '');
          const result = await verify(source, headers, sample.body);
          if (!result.ok)
            assert.ok([400, 401].includes(result.error.status), `${name}: ${value.slice(0, 40)}`);
        }
      }
      refused(await verify(source, {}, sample.body), 'missing_signature');
      refused(await verify(source, await signed(), new Uint8Array()), 'bad_signature');
    });
  });
}

describe("ingest's node:crypto MACs", () => {
  it("equal Web Crypto's for every provider and algorithm, and verify what they sign", async () => {
    const content = encoder.encode(SAMPLES.github.body);
    for (const provider of PROVIDERS)
      for (const algorithm of ['sha256', 'sha512'] as const) {
        const secrets = [
          { value: freshSecret(provider), retiresAt: null },
          { value: freshSecret(provider), retiresAt: null },
        ];
        assert.deepEqual(
          await nodeMacs(provider, secrets, algorithm, content),
          await macs(provider, secrets, algorithm, content),
          `${provider} ${algorithm}`,
        );
      }
    for (const provider of PROVIDERS) {
      const secret = freshSecret(provider);
      const source = sourceOf(provider, [{ value: secret, retiresAt: null }]);
      const { body, facts } = SAMPLES[provider];
      const headers = await signDelivery(provider, secret, body, facts);
      const verdict = await verifyDelivery(
        source,
        { headers: new Headers(headers), body: encoder.encode(body) },
        NOW,
        nodeMacs,
      );
      assert.ok(verdict.ok, provider);
      const forged = await signDelivery(provider, freshSecret(provider), body, facts);
      const refusal = await verifyDelivery(
        source,
        { headers: new Headers(forged), body: encoder.encode(body) },
        NOW,
        nodeMacs,
      );
      refused(refusal, 'bad_signature');
    }
  });
});

describe('several signatures in one delivery', () => {
  it('Stripe: one of several v1 entries matching is enough, none matching is refused', async () => {
    const secret = freshSecret('stripe');
    const source = sourceOf('stripe', [{ value: secret, retiresAt: null }]);
    const { body } = SAMPLES.stripe;
    const others = [freshSecret('stripe'), freshSecret('stripe')];
    const header = stripeHeaderWith(secret, body, SECONDS, others);
    assert.equal(header.match(/v1=/g)?.length, 3);
    assert.ok((await verify(source, { 'stripe-signature': header }, body)).ok);
    // Stripe's legacy v0 entries are ignored, even when they would match.
    const v0 = header.replace(/v1=/g, 'v0=');
    refused(await verify(source, { 'stripe-signature': v0 }, body), 'malformed_signature');
    const none = stripeHeaderWith(freshSecret('stripe'), body, SECONDS, others);
    refused(await verify(source, { 'stripe-signature': none }, body), 'bad_signature');
  });

  it('Standard Webhooks: one of several signatures matching is enough, none matching is refused', async () => {
    const secret = freshSecret('standard-webhooks');
    const source = sourceOf('standard-webhooks', [{ value: secret, retiresAt: null }]);
    const { body, facts } = SAMPLES['standard-webhooks'];
    const headers = (secrets: string[]) => ({
      'webhook-id': facts.id,
      'webhook-timestamp': String(SECONDS),
      'webhook-signature': standardHeaderWith(secrets, facts.id, SECONDS, body),
    });
    const other = freshSecret('standard-webhooks');
    assert.ok((await verify(source, headers([other, secret]), body)).ok);
    assert.ok((await verify(source, headers([secret, other]), body)).ok);
    refused(await verify(source, headers([other, freshSecret('standard-webhooks')]), body), 'bad_signature');
    // The id is signed: the same signature under another webhook-id is refused.
    const moved = { ...headers([secret]), 'webhook-id': 'msg_other' };
    refused(await verify(source, moved, body), 'bad_signature');
  });
});

describe('Slack', () => {
  const secret = freshSecret('slack');
  const source = sourceOf('slack', [{ value: secret, retiresAt: null }]);
  const form = { contentType: 'application/x-www-form-urlencoded' };

  it('url_verification is verified and answered with its challenge', async () => {
    const body = JSON.stringify({
      token: 'x',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const result = await verify(
      source,
      await signDelivery('slack', secret, body, { id: '', type: '' }),
      body,
    );
    assert.ok(result.ok);
    assert.equal(result.value.challenge, '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
    // Unsigned, it is a 401 like any other delivery: no challenge echoed for anyone.
    const forged = await signDelivery('slack', freshSecret('slack'), body, { id: '', type: '' });
    refused(await verify(source, forged, body), 'bad_signature');
  });

  it('a slash command (form) is counted by command and team, its trigger id the delivery id', async () => {
    const body = new URLSearchParams({
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      team_id: 'T0001',
      team_domain: 'example',
      channel_id: 'C2147483705',
      user_id: 'U2147483697',
      command: '/weather',
      text: '94070',
      trigger_id: '13345224609.738474920.8088930838d88f008e0',
    }).toString();
    const result = await verify(
      source,
      await signDelivery('slack', secret, body, { id: '', type: '', ...form }),
      body,
    );
    assert.ok(result.ok);
    assert.deepEqual(
      { id: result.value.id, type: result.value.type, account: result.value.account },
      { id: '13345224609.738474920.8088930838d88f008e0', type: 'command:/weather', account: 'T0001' },
    );
  });

  it('an interaction (form with a JSON payload) is counted by its type and team', async () => {
    const payload = { type: 'block_actions', trigger_id: '1234.5678', team: { id: 'T0002' }, actions: [] };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const result = await verify(
      source,
      await signDelivery('slack', secret, body, { id: '', type: '', ...form }),
      body,
    );
    assert.ok(result.ok);
    assert.deepEqual(
      { id: result.value.id, type: result.value.type, account: result.value.account },
      { id: '1234.5678', type: 'block_actions', account: 'T0002' },
    );
  });
});

describe('the generic HMAC scheme', () => {
  const body = SAMPLES.hmac.body;
  const secret = freshSecret('hmac');

  it('default: SHA-256 hex of the body, no timestamp, a digest of the body as the id', async () => {
    const { createHmac } = await import('node:crypto');
    const source = sourceOf('hmac', [{ value: secret, retiresAt: null }], { hmac: undefined });
    const signature = createHmac('sha256', secret).update(body).digest('hex');
    const result = await verify(source, { 'x-signature': signature }, body);
    assert.ok(result.ok);
    assert.match(result.value.id, /^sha256:[0-9a-f]{32}$/);
    const again = await verify(source, { 'x-signature': signature }, body);
    assert.equal(again.ok && again.value.id, result.value.id, 'an identical redelivery shares its id');
    refused(await verify(source, { 'x-signature': `sha256=${signature}` }, body), 'malformed_signature');
  });

  it('SHA-512, base64, a prefix and a template over id and timestamp: each part is signed', async () => {
    // Signed at the test's own SECONDS: the signer's clock may have ticked past it since the module loaded.
    const source = sourceOf('hmac', [{ value: secret, retiresAt: null }]);
    const headers = await signDelivery('hmac', secret, body, { ...SAMPLES.hmac.facts, seconds: SECONDS });
    assert.ok((await verify(source, headers, body)).ok);
    refused(await verify(source, { ...headers, 'x-delivery': 'dlv-0002' }, body), 'bad_signature');
    refused(await verify(source, { ...headers, 'x-timestamp': String(SECONDS + 1) }, body), 'bad_signature');
    const noPrefix = headers['x-signature']?.replace('sha512=', '') ?? '';
    refused(await verify(source, { ...headers, 'x-signature': noPrefix }, body), 'malformed_signature');
    const noTimestamp: Record<string, string> = { ...headers };
    delete noTimestamp['x-timestamp'];
    refused(await verify(source, noTimestamp, body), 'malformed_signature');
    // A SHA-256 MAC where SHA-512 is declared is refused.
    const { createHmac } = await import('node:crypto');
    const short = createHmac('sha256', secret).update(`dlv-0001.${SECONDS}.${body}`).digest('base64');
    refused(await verify(source, { ...headers, 'x-signature': `sha512=${short}` }, body), 'bad_signature');
  });
});

describe('deliveryToEvent', () => {
  const registry = streamRegistry();
  const options = { registry, now: NOW, maxEventBytes: 256 * 1024, maxDepth: 32 };

  it('makes the webhooks record, at the first receive time, in the source tenant', async () => {
    const secret = freshSecret('github');
    const source = sourceOf('github', [{ value: secret, retiresAt: null }]);
    const { body, facts } = SAMPLES.github;
    const delivery = await verify(source, await signDelivery('github', secret, body, facts), body);
    assert.ok(delivery.ok);
    const firstSeenMs = NOW - 5_000;
    const verdict = deliveryToEvent(source, delivery.value, body.length, { ...options, firstSeenMs });
    assert.ok(verdict.ok, JSON.stringify(verdict.ok ? '' : verdict.rejection));
    const { event } = verdict;
    assert.equal(event.stream, 'webhooks');
    assert.equal(event.tenant, 'acme');
    assert.equal(event.id, facts.id);
    assert.equal(event.time, firstSeenMs, 'a redelivery keeps the first copy event time');
    assert.equal(event.source, `webhook:${source.id}`);
    assert.deepEqual(event.data, {
      provider: 'github',
      type: 'push',
      account: 'Codertocat/Hello-World',
      delivery_id: facts.id,
      payload: push,
    });
  });

  it('maps a delivery onto ecommerce through JSON pointers', async () => {
    const source = sourceOf('stripe', [{ value: 'whsec_x', retiresAt: null }], {
      mapping: {
        transaction_id: '/delivery_id',
        user_id: '/payload/data/object/customer',
        product_category: '/payload/data/object/metadata/category',
        product_name: '/payload/data/object/description',
        amount: '/payload/data/object/amount',
        timestamp: '/payload/paid_at',
        payment_method: '/provider',
      },
    });
    const mappedSource: WebhookSource = { ...source, stream: 'ecommerce' };
    const payload = { ...stripeEvent('evt_map_1'), paid_at: new Date(NOW - 1_000).toISOString() };
    const delivery: Delivery = { id: 'evt_map_1', type: 'payment_intent.succeeded', account: '', payload };
    const verdict = deliveryToEvent(mappedSource, delivery, 2_000, { ...options, firstSeenMs: NOW });
    assert.ok(verdict.ok, JSON.stringify(verdict.ok ? '' : verdict.rejection));
    assert.equal(verdict.event.stream, 'ecommerce');
    assert.equal(verdict.event.tenant, 'acme');
    assert.equal(verdict.event.id, 'evt_map_1');
    assert.deepEqual(verdict.event.data, {
      transaction_id: 'evt_map_1',
      user_id: 'cus_Q2o8mK3aZ1XbYc',
      product_category: 'books',
      product_name: 'Order #1042',
      amount: 2_499,
      timestamp: payload.paid_at,
      payment_method: 'stripe',
    });
    // A mapping that leaves a required field out makes no event: a 400 with the field named.
    const partial: WebhookSource = {
      ...mappedSource,
      options: { ...mappedSource.options, mapping: { transaction_id: '/delivery_id' } },
    };
    const bad = deliveryToEvent(partial, delivery, 2_000, { ...options, firstSeenMs: NOW });
    assert.equal(bad.ok, false);
  });

  it('a mapping may read received_at: the first receive time, for a required event-time field', async () => {
    const source = sourceOf('stripe', [{ value: 'whsec_x', retiresAt: null }], {
      mapping: {
        transaction_id: '/payload/data/object/id',
        user_id: '/payload/data/object/customer',
        product_category: '/payload/data/object/metadata/category',
        product_name: '/payload/data/object/description',
        amount: '/payload/data/object/amount',
        timestamp: '/received_at',
        payment_method: '/payload/data/object/payment_method_types/0',
      },
    });
    const payload = stripeEvent('evt_map_2');
    const delivery: Delivery = { id: 'evt_map_2', type: 'payment_intent.succeeded', account: '', payload };
    const firstSeenMs = NOW - 30_000;
    const verdict = deliveryToEvent({ ...source, stream: 'ecommerce' }, delivery, 2_000, {
      ...options,
      firstSeenMs,
    });
    assert.ok(verdict.ok, JSON.stringify(verdict.ok ? '' : verdict.rejection));
    assert.equal(verdict.event.data.timestamp, new Date(firstSeenMs).toISOString());
    assert.equal(verdict.event.time, firstSeenMs);
    // The webhooks stream's own payload does not carry it (the event time does).
    const own = deliveryToEvent(
      sourceOf('stripe', [{ value: 'whsec_x', retiresAt: null }]),
      delivery,
      2_000,
      {
        ...options,
        firstSeenMs,
      },
    );
    assert.ok(own.ok && !('received_at' in own.event.data));
  });

  it('keeps the source tenant whatever the payload says', async () => {
    const source = sourceOf('hmac', [{ value: 'irrelevant-secret', retiresAt: null }]);
    const payload = { tenant: 'bigco', order: { id: 'o-2' } };
    const delivery: Delivery = { id: 'dlv-t', type: 'order.paid', account: 'bigco', payload };
    const verdict = deliveryToEvent(source, delivery, 200, { ...options, firstSeenMs: NOW });
    assert.ok(verdict.ok);
    assert.equal(verdict.event.tenant, 'acme');
    const mapped: WebhookSource = {
      ...source,
      stream: 'ecommerce',
      options: { ...source.options, mapping: { tenant: '/payload/tenant', transaction_id: '/delivery_id' } },
    };
    const viaMapping = deliveryToEvent(mapped, delivery, 200, { ...options, firstSeenMs: NOW });
    assert.ok(
      !viaMapping.ok || viaMapping.event.tenant === 'acme',
      'a mapped tenant field is not the tenant',
    );
  });
});

describe('Standard Webhooks secrets', () => {
  const { body, facts } = SAMPLES['standard-webhooks'];
  const key = Buffer.alloc(32, 7);

  it('one without base64 padding, as accepted when added, verifies what it signs', async () => {
    // 32 bytes: 43 base64 characters and one `=`; the padding is optional in what a source takes.
    const secret = `whsec_${key.toString('base64').replace(/=+$/, '')}`;
    assert.equal(secretProblem('standard-webhooks', secret), undefined);
    const source = sourceOf('standard-webhooks', [{ value: secret, retiresAt: null }]);
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', key).update(`${facts.id}.${SECONDS}.${body}`).digest('base64');
    const headers = {
      'webhook-id': facts.id,
      'webhook-timestamp': String(SECONDS),
      'webhook-signature': `v1,${mac}`,
    };
    const result = await verify(source, headers, body);
    assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.error));
  });

  it('one that is not base64 at all is refused when added, never a key of zero bytes', () => {
    // 33 characters: no base64 decodes to it, though its length says ~24 bytes.
    assert.notEqual(secretProblem('standard-webhooks', `whsec_${'A'.repeat(33)}`), undefined);
    assert.notEqual(secretProblem('standard-webhooks', `whsec_${'A'.repeat(32)}=A`), undefined);
    assert.equal(secretProblem('standard-webhooks', `whsec_${key.toString('base64')}`), undefined);
  });
});

describe('failing closed', () => {
  it('a secret that makes no key verifies nothing, not even a MAC made with an empty key', async () => {
    assert.equal(secretBytes('standard-webhooks', 'whsec_'), undefined);
    assert.equal(secretBytes('standard-webhooks', 'whsec_!!!!'), undefined);
    const bad = [{ value: 'whsec_', retiresAt: null }];
    assert.deepEqual(await nodeMacs('standard-webhooks', bad, 'sha256', encoder.encode('x')), []);
    assert.deepEqual(await macs('standard-webhooks', bad, 'sha256', encoder.encode('x')), []);
    const source = sourceOf('standard-webhooks', bad);
    const { body, facts } = SAMPLES['standard-webhooks'];
    const { createHmac } = await import('node:crypto');
    const emptyKeyMac = createHmac('sha256', Buffer.alloc(0))
      .update(`${facts.id}.${SECONDS}.${body}`)
      .digest('base64');
    const headers = {
      'webhook-id': facts.id,
      'webhook-timestamp': String(SECONDS),
      'webhook-signature': `v1,${emptyKeyMac}`,
    };
    for (const macsOf of [macs, nodeMacs])
      refused(
        await verifyDelivery(
          source,
          { headers: new Headers(headers), body: encoder.encode(body) },
          NOW,
          macsOf,
        ),
        'bad_signature',
      );
  });

  it('a generic scheme may not check a timestamp it does not sign, nor sign two bodies', () => {
    assert.equal(hmacSchemeSchema.safeParse({ timestampHeader: 'x-ts' }).success, false);
    assert.equal(
      hmacSchemeSchema.safeParse({ timestampHeader: 'x-ts', signedContent: '{timestamp}.{body}' }).success,
      true,
    );
    assert.equal(hmacSchemeSchema.safeParse({ signedContent: '{body}.{body}' }).success, false);
  });
});
