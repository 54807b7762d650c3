// A provider without a named scheme: the source declares the signature header, SHA-256 or -512, hex
// or base64, a prefix before the MAC, and optionally a signed timestamp header (checked against the
// tolerance), an id header and a type header. The signed content is the source's template over
// `{timestamp}`, `{id}` and `{body}`. Without an id header, a digest of the body is the id.

import { fail, ok } from '../../result.ts';
import { concatBytes, fromBase64, fromHex, utf8Bytes } from '../codec.ts';
import { jsonBody, textAt } from '../payload.ts';
import type { ProviderScheme } from '../scheme.ts';
import { header, seconds, unsigned } from '../scheme.ts';
import type { HmacScheme } from '../source.ts';
import { hmacSchemeSchema } from '../source.ts';

const DEFAULT_SCHEME: HmacScheme = hmacSchemeSchema.parse({});

export const hmac: ProviderScheme = {
  signed(delivery, source) {
    const scheme = source.options.hmac ?? DEFAULT_SCHEME;
    const sent = header(delivery, scheme.header);
    if (sent === undefined) return fail(unsigned('missing_signature', `${scheme.header} is missing`));
    const text = sent.startsWith(scheme.prefix) ? sent.slice(scheme.prefix.length) : undefined;
    const mac = text === undefined ? undefined : scheme.encoding === 'hex' ? fromHex(text) : fromBase64(text);
    if (mac === undefined)
      return fail(
        unsigned('malformed_signature', `${scheme.header} is not ${scheme.prefix}<${scheme.encoding}>`),
      );
    const timestamp =
      scheme.timestampHeader === undefined ? undefined : seconds(header(delivery, scheme.timestampHeader));
    if (scheme.timestampHeader !== undefined && timestamp === undefined)
      return fail(unsigned('malformed_signature', `${scheme.timestampHeader} (seconds) is required`));
    const id = scheme.idHeader === undefined ? '' : (header(delivery, scheme.idHeader) ?? '');
    // The body is spliced in as bytes, never decoded and re-encoded: the MAC is over what was sent.
    const [before = '', after = ''] = scheme.signedContent.split('{body}', 2);
    const fill = (t: string) => t.replaceAll('{timestamp}', String(timestamp ?? '')).replaceAll('{id}', id);
    const content = concatBytes(utf8Bytes(fill(before)), delivery.body, utf8Bytes(fill(after)));
    return ok({
      algorithm: scheme.algorithm,
      content,
      candidates: [mac],
      ...(timestamp === undefined ? {} : { timestampSeconds: timestamp }),
    });
  },
  describe(delivery, source) {
    const scheme = source.options.hmac ?? DEFAULT_SCHEME;
    const payload = jsonBody(delivery);
    if (!payload.ok) return payload;
    const id = scheme.idHeader === undefined ? undefined : header(delivery, scheme.idHeader);
    const type =
      (scheme.typeHeader === undefined ? undefined : header(delivery, scheme.typeHeader)) ??
      textAt(payload.value, 'type') ??
      '';
    return ok({ id, type, account: '', payload: payload.value });
  },
};
