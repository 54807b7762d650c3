// Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the body with the app's secret;
// `X-Shopify-Webhook-Id`, `X-Shopify-Topic` and `X-Shopify-Shop-Domain` name the delivery. Shopify
// signs no timestamp; a replay keeps its webhook id and is a duplicate.
// https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook

import { fail, ok } from '../../result.ts';
import { fromBase64 } from '../codec.ts';
import { jsonBody } from '../payload.ts';
import type { ProviderScheme } from '../scheme.ts';
import { header, malformed, unsigned } from '../scheme.ts';

export const shopify: ProviderScheme = {
  signed(delivery) {
    const sent = header(delivery, 'x-shopify-hmac-sha256');
    if (sent === undefined) return fail(unsigned('missing_signature', 'X-Shopify-Hmac-Sha256 is missing'));
    const mac = fromBase64(sent);
    if (mac === undefined)
      return fail(unsigned('malformed_signature', 'X-Shopify-Hmac-Sha256 is not base64'));
    return ok({ algorithm: 'sha256', content: delivery.body, candidates: [mac] });
  },
  describe(delivery) {
    const id = header(delivery, 'x-shopify-webhook-id');
    const type = header(delivery, 'x-shopify-topic');
    if (id === undefined || type === undefined)
      return fail(malformed('missing_header', 'X-Shopify-Webhook-Id and X-Shopify-Topic are required'));
    const payload = jsonBody(delivery);
    if (!payload.ok) return payload;
    return ok({ id, type, account: header(delivery, 'x-shopify-shop-domain') ?? '', payload: payload.value });
  },
};
