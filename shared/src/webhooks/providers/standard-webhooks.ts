// Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp` (seconds) and
// `webhook-signature: v1,<base64> [v1,<base64> ...]`, HMAC-SHA256 of `<id>.<timestamp>.<body>`
// with the base64-decoded part of a `whsec_` secret. Other versions (v1a: asymmetric) are skipped.
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

import { fail, ok } from '../../result.ts';
import { concatBytes, fromBase64, utf8Bytes } from '../codec.ts';
import { jsonBody, textAt } from '../payload.ts';
import type { ProviderScheme } from '../scheme.ts';
import { header, seconds, unsigned } from '../scheme.ts';

export const standardWebhooks: ProviderScheme = {
  signed(delivery) {
    const sent = header(delivery, 'webhook-signature');
    const id = header(delivery, 'webhook-id');
    const timestamp = seconds(header(delivery, 'webhook-timestamp'));
    if (sent === undefined) return fail(unsigned('missing_signature', 'webhook-signature is missing'));
    if (id === undefined || timestamp === undefined)
      return fail(unsigned('malformed_signature', 'webhook-id and webhook-timestamp (seconds) are required'));
    const candidates: Uint8Array[] = [];
    for (const entry of sent.split(' ', 16)) {
      const [version, mac] = entry.split(',', 2);
      const bytes = version === 'v1' && mac !== undefined ? fromBase64(mac) : undefined;
      if (bytes !== undefined) candidates.push(bytes);
    }
    if (candidates.length === 0)
      return fail(unsigned('malformed_signature', 'webhook-signature holds no v1,<base64> signature'));
    const content = concatBytes(utf8Bytes(`${id}.${timestamp}.`), delivery.body);
    return ok({ algorithm: 'sha256', content, candidates, timestampSeconds: timestamp });
  },
  describe(delivery) {
    const payload = jsonBody(delivery);
    if (!payload.ok) return payload;
    return ok({
      // Required by signed(): the same id on every retry of a message.
      id: header(delivery, 'webhook-id'),
      type: textAt(payload.value, 'type') ?? textAt(payload.value, 'eventType') ?? '',
      account: '',
      payload: payload.value,
    });
  },
};
