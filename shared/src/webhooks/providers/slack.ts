// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<body>` with
// the signing secret; the timestamp within the source's tolerance. Events API deliveries are JSON
// (`url_verification` is answered with its challenge; `event_callback` is counted by event type
// and team, its `event_id` the delivery id, the same on Slack's retries); slash commands and
// interactivity are forms (`payload=` holds the interaction's JSON).
// https://api.slack.com/authentication/verifying-requests-from-slack

import type { Result } from '../../result.ts';
import { fail, ok } from '../../result.ts';
import { concatBytes, fromHex, utf8Bytes } from '../codec.ts';
import { bodyText, jsonBody, textAt } from '../payload.ts';
import type { Described, ProviderScheme, RawDelivery, Refusal } from '../scheme.ts';
import { header, malformed, seconds, unsigned } from '../scheme.ts';

export const slack: ProviderScheme = {
  signed(delivery) {
    const sent = header(delivery, 'x-slack-signature');
    const timestamp = seconds(header(delivery, 'x-slack-request-timestamp'));
    if (sent === undefined) return fail(unsigned('missing_signature', 'X-Slack-Signature is missing'));
    const mac = sent.startsWith('v0=') ? fromHex(sent.slice(3)) : undefined;
    if (mac === undefined || timestamp === undefined)
      return fail(
        unsigned(
          'malformed_signature',
          'X-Slack-Signature v0=<hex> and X-Slack-Request-Timestamp are required',
        ),
      );
    const content = concatBytes(utf8Bytes(`v0:${timestamp}:`), delivery.body);
    return ok({ algorithm: 'sha256', content, candidates: [mac], timestampSeconds: timestamp });
  },
  describe(delivery) {
    const type = delivery.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    return type === 'application/x-www-form-urlencoded' ? fromForm(delivery) : fromJson(delivery);
  },
};

function fromJson(delivery: RawDelivery): Result<Described, Refusal> {
  const payload = jsonBody(delivery);
  if (!payload.ok) return payload;
  const body = payload.value;
  const kind = textAt(body, 'type');
  if (kind === undefined) return fail(malformed('malformed_body', 'a Slack delivery has a type'));
  const account = textAt(body, 'team_id') ?? '';
  if (kind === 'url_verification') {
    const challenge = textAt(body, 'challenge');
    if (challenge === undefined)
      return fail(malformed('malformed_body', 'url_verification without a challenge'));
    return ok({ id: undefined, type: kind, account, payload: body, challenge });
  }
  const type = kind === 'event_callback' ? (textAt(body, 'event', 'type') ?? kind) : kind;
  return ok({ id: textAt(body, 'event_id'), type, account, payload: body });
}

function fromForm(delivery: RawDelivery): Result<Described, Refusal> {
  const text = bodyText(delivery);
  if (!text.ok) return text;
  const form = Object.fromEntries(new URLSearchParams(text.value));
  const interaction = form.payload;
  if (interaction !== undefined) {
    let payload: unknown;
    try {
      payload = JSON.parse(interaction);
    } catch {
      return fail(malformed('malformed_body', 'the payload field is not JSON'));
    }
    return ok({
      id: textAt(payload, 'trigger_id'),
      type: textAt(payload, 'type') ?? 'interaction',
      account: textAt(payload, 'team', 'id') ?? '',
      payload,
    });
  }
  return ok({
    id: form.trigger_id,
    type: form.command === undefined ? 'form' : `command:${form.command}`,
    account: form.team_id ?? '',
    payload: form,
  });
}
