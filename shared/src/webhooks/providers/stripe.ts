// Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `<t>.<body>` with
// the whole `whsec_...` secret as UTF-8. Several v1 entries appear while Stripe rolls a secret;
// v0 (test-mode legacy) entries are ignored. The timestamp must be within the source's tolerance.
// https://docs.stripe.com/webhooks#verify-manually

import { fail, ok } from '../../result.ts';
import { concatBytes, fromHex, utf8Bytes } from '../codec.ts';
import { jsonBody, textAt } from '../payload.ts';
import type { ProviderScheme } from '../scheme.ts';
import { header, malformed, seconds, unsigned } from '../scheme.ts';

export const stripe: ProviderScheme = {
  signed(delivery) {
    const sent = header(delivery, 'stripe-signature');
    if (sent === undefined) return fail(unsigned('missing_signature', 'Stripe-Signature is missing'));
    let timestamp: number | undefined;
    const candidates: Uint8Array[] = [];
    // Bounded: a header of thousands of entries costs a comparison each.
    for (const part of sent.split(',', 16)) {
      const at = part.indexOf('=');
      const name = part.slice(0, at).trim();
      const value = part.slice(at + 1).trim();
      if (name === 't') timestamp = seconds(value);
      const mac = name === 'v1' ? fromHex(value) : undefined;
      if (mac !== undefined) candidates.push(mac);
    }
    if (timestamp === undefined || candidates.length === 0)
      return fail(unsigned('malformed_signature', 'Stripe-Signature needs t= and at least one v1='));
    const content = concatBytes(utf8Bytes(`${timestamp}.`), delivery.body);
    return ok({ algorithm: 'sha256', content, candidates, timestampSeconds: timestamp });
  },
  describe(delivery) {
    const payload = jsonBody(delivery);
    if (!payload.ok) return payload;
    const id = textAt(payload.value, 'id');
    const type = textAt(payload.value, 'type');
    if (id === undefined || type === undefined)
      return fail(malformed('malformed_body', 'a Stripe event has an id and a type'));
    return ok({ id, type, account: textAt(payload.value, 'account') ?? '', payload: payload.value });
  },
};
