// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body with the secret's UTF-8.
// GitHub signs no timestamp; a replayed delivery keeps its `X-GitHub-Delivery` id and is a
// duplicate (counted once within the dedup horizon).
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries

import { fail, ok } from '../../result.ts';
import { fromHex } from '../codec.ts';
import { jsonBody, textAt } from '../payload.ts';
import type { ProviderScheme } from '../scheme.ts';
import { header, malformed, unsigned } from '../scheme.ts';

export const github: ProviderScheme = {
  signed(delivery) {
    const sent = header(delivery, 'x-hub-signature-256');
    if (sent === undefined) return fail(unsigned('missing_signature', 'X-Hub-Signature-256 is missing'));
    const mac = sent.startsWith('sha256=') ? fromHex(sent.slice(7)) : undefined;
    if (mac === undefined)
      return fail(unsigned('malformed_signature', 'X-Hub-Signature-256 is not sha256=<hex>'));
    return ok({ algorithm: 'sha256', content: delivery.body, candidates: [mac] });
  },
  describe(delivery) {
    const id = header(delivery, 'x-github-delivery');
    const type = header(delivery, 'x-github-event');
    if (id === undefined || type === undefined)
      return fail(malformed('missing_header', 'X-GitHub-Delivery and X-GitHub-Event are required'));
    const payload = jsonBody(delivery);
    if (!payload.ok) return payload;
    const account =
      textAt(payload.value, 'repository', 'full_name') ??
      textAt(payload.value, 'organization', 'login') ??
      '';
    return ok({ id, type, account, payload: payload.value });
  },
};
