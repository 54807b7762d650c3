// Verifies a delivery for its source (issue 22, item 2): the signature over the raw bytes first,
// compared in constant time against every live secret (two during a rotation), then the signed
// timestamp against the tolerance, and only then is the body parsed. Web APIs only: the edge and
// ingest both run it (ingest again after the edge: the edge's check sheds forgeries early, ingest's
// keeps a delivery honest whoever sent it on).

import type { Result } from '../result.ts';
import { fail, ok } from '../result.ts';
import { matchesAny } from './constant-time.ts';
import { bodyDigest } from './payload.ts';
import { github } from './providers/github.ts';
import { hmac } from './providers/hmac.ts';
import { shopify } from './providers/shopify.ts';
import { slack } from './providers/slack.ts';
import { standardWebhooks } from './providers/standard-webhooks.ts';
import { stripe } from './providers/stripe.ts';
import type { Delivery, ProviderScheme, RawDelivery, Refusal } from './scheme.ts';
import { unsigned } from './scheme.ts';
import type { MacsOf } from './signing-keys.ts';
import { macs } from './signing-keys.ts';
import type { Provider, WebhookSource } from './source.ts';
import { liveSecrets } from './source.ts';

export const SCHEMES: Readonly<Record<Provider, ProviderScheme>> = {
  github,
  stripe,
  'standard-webhooks': standardWebhooks,
  shopify,
  slack,
  hmac,
};

export async function verifyDelivery(
  source: WebhookSource,
  delivery: RawDelivery,
  nowMs: number,
  macsOf: MacsOf = macs,
): Promise<Result<Delivery, Refusal>> {
  const scheme = SCHEMES[source.provider];
  const signed = scheme.signed(delivery, source);
  if (!signed.ok) return signed;
  const { algorithm, content, candidates, timestampSeconds } = signed.value;
  const expected = await macsOf(source.provider, liveSecrets(source, nowMs), algorithm, content);
  // INVARIANT (issue 22): constant-time, every secret against every candidate (constant-time.ts).
  if (!matchesAny(expected, candidates))
    return fail(unsigned('bad_signature', 'the signature does not match the body'));
  if (timestampSeconds !== undefined) {
    const skew = Math.abs(nowMs / 1000 - timestampSeconds);
    if (skew > source.options.toleranceSeconds)
      return fail(
        unsigned(
          'stale_timestamp',
          `the signed timestamp is outside ${source.options.toleranceSeconds} s of now`,
        ),
      );
  }
  const described = scheme.describe(delivery, source);
  if (!described.ok) return described;
  const id = described.value.id ?? (await bodyDigest(delivery));
  return ok({ ...described.value, id });
}
