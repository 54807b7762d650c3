// Webhook deliveries for tests and the benchmark, SIGNED BY INDEPENDENT IMPLEMENTATIONS (issue 22):
// the providers' own packages where they exist (@octokit/webhooks-methods, stripe's
// generateTestHeaderString, standardwebhooks), node:crypto's createHmac written here for Shopify,
// Slack and the generic scheme (not the project's Web Crypto code), and GitHub's published example
// payloads (@octokit/webhooks-examples). If the verifiers and these disagree, the verifiers are wrong.

import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { HmacScheme, Provider } from '../src/webhooks/source.ts';

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as WebhookDefinition[];

/** A published example payload of GitHub's: `name` (push, issues...) with `action` if given. */
export function githubExample(name: string, action?: string): Record<string, unknown> {
  const examples = definitions.find((d) => d.name === name)?.examples ?? [];
  const example = examples.find((e) => action === undefined || (e as { action?: unknown }).action === action);
  if (example === undefined) throw new Error(`no published GitHub example ${name} ${action ?? ''}`);
  return example as unknown as Record<string, unknown>;
}

/** A Stripe event as Stripe sends it (API 2024-06-20 shape): a payment intent that succeeded. */
export function stripeEvent(id: string, type = 'payment_intent.succeeded', account?: string) {
  return {
    id,
    object: 'event',
    api_version: '2024-06-20',
    created: 1_733_300_000,
    ...(account === undefined ? {} : { account }),
    data: {
      object: {
        id: `pi_${id.slice(-12)}`,
        object: 'payment_intent',
        amount: 2_499,
        amount_received: 2_499,
        currency: 'eur',
        customer: 'cus_Q2o8mK3aZ1XbYc',
        description: 'Order #1042',
        livemode: false,
        metadata: { order_id: '1042', category: 'books' },
        payment_method: 'pm_1PgXYZ2eZvKYlo2C',
        payment_method_types: ['card'],
        status: 'succeeded',
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: 'req_8xKQ3nTz0abc12', idempotency_key: randomUUID() },
    type,
  };
}

/** Secrets as each provider issues them: Standard Webhooks' (and Stripe's) are whsec_ + base64. */
export function freshSecret(provider: Provider): string {
  const bytes = randomBytes(32).toString('base64');
  return provider === 'standard-webhooks' || provider === 'stripe' ? `whsec_${bytes}` : bytes;
}

/** The generic scheme the tests use: SHA-512, base64, a prefix, a signed timestamp and id. */
export const HMAC_SCHEME: HmacScheme = {
  header: 'x-signature',
  algorithm: 'sha512',
  encoding: 'base64',
  prefix: 'sha512=',
  timestampHeader: 'x-timestamp',
  idHeader: 'x-delivery',
  typeHeader: 'x-event',
  signedContent: '{id}.{timestamp}.{body}',
};

/** What a delivery says of itself, beyond its body. */
export interface DeliveryFacts {
  readonly id: string;
  readonly type: string;
  /** Shopify's shop domain; other providers name the account in the body. */
  readonly account?: string;
  /** The signed timestamp (seconds); now when not given. */
  readonly seconds?: number;
  readonly contentType?: string;
}

/** The signature header each scheme reads (the one a test removes or mangles). */
export const SIGNATURE_HEADER: Readonly<Record<Provider, string>> = {
  github: 'x-hub-signature-256',
  stripe: 'stripe-signature',
  'standard-webhooks': 'webhook-signature',
  shopify: 'x-shopify-hmac-sha256',
  slack: 'x-slack-signature',
  hmac: 'x-signature',
};

/** Providers that sign a timestamp: their deliveries can be stale or from the future. */
export const TIMED: ReadonlySet<Provider> = new Set(['stripe', 'standard-webhooks', 'slack', 'hmac']);

const hmacOf = (algorithm: 'sha256' | 'sha512', key: string | Buffer, ...parts: (string | Buffer)[]) => {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

/**
 * The headers `provider` sends with `body` signed with `secret`. `hmac` is signed as HMAC_SCHEME
 * says. Bodies are strings: every signer signs the UTF-8 bytes, as the providers do.
 */
export async function signDelivery(
  provider: Provider,
  secret: string,
  body: string,
  facts: DeliveryFacts,
): Promise<Record<string, string>> {
  const seconds = facts.seconds ?? Math.floor(Date.now() / 1000);
  const contentType = { 'content-type': facts.contentType ?? 'application/json' };
  switch (provider) {
    case 'github':
      return {
        ...contentType,
        'x-hub-signature-256': await githubSign(secret, body),
        'x-github-delivery': facts.id,
        'x-github-event': facts.type,
      };
    case 'stripe':
      return {
        ...contentType,
        'stripe-signature': stripeSigner.webhooks.generateTestHeaderString({
          payload: body,
          secret,
          timestamp: seconds,
        }),
      };
    case 'standard-webhooks':
      return {
        ...contentType,
        'webhook-id': facts.id,
        'webhook-timestamp': String(seconds),
        'webhook-signature': new Webhook(secret).sign(facts.id, new Date(seconds * 1000), body),
      };
    case 'shopify':
      return {
        ...contentType,
        'x-shopify-hmac-sha256': hmacOf('sha256', secret, body).toString('base64'),
        'x-shopify-webhook-id': facts.id,
        'x-shopify-topic': facts.type,
        'x-shopify-shop-domain': facts.account ?? 'shop.myshopify.com',
      };
    case 'slack':
      return {
        ...contentType,
        'x-slack-signature': `v0=${hmacOf('sha256', secret, `v0:${seconds}:`, body).toString('hex')}`,
        'x-slack-request-timestamp': String(seconds),
      };
    case 'hmac':
      return {
        ...contentType,
        'x-signature': `sha512=${hmacOf('sha512', secret, `${facts.id}.${seconds}.`, body).toString('base64')}`,
        'x-timestamp': String(seconds),
        'x-delivery': facts.id,
        'x-event': facts.type,
      };
  }
}

// A client with no network use: only its webhooks helper signs here.
const stripeSigner = new Stripe('sk_test_sluice_signing_only');

/** A Stripe-Signature with extra v1 entries (Stripe sends several while a secret is rolled). */
export function stripeHeaderWith(secret: string, body: string, seconds: number, others: string[]): string {
  const signed = stripeSigner.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    timestamp: seconds,
  });
  const extra = others.map((other) => `v1=${hmacOf('sha256', other, `${seconds}.`, body).toString('hex')}`);
  const [t, ...v1] = signed.split(',');
  return [t, ...extra.slice(0, 1), ...v1, ...extra.slice(1)].join(',');
}

/** A webhook-signature with several signatures, one per secret, as Standard Webhooks allows. */
export function standardHeaderWith(secrets: string[], id: string, seconds: number, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, new Date(seconds * 1000), body)).join(' ');
}
