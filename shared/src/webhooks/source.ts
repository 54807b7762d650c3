// A webhook source (issue 22): a tenant's endpoint for one provider, with its secret (two during a
// rotation), the stream its deliveries go to and how a delivery maps onto an event there.
// Web APIs only: the edge holds sources too (asked of ingest, see edge/src/webhook-sources.ts).

import { z } from 'zod';
import { fromBase64 } from './codec.ts';

export const PROVIDERS = ['github', 'stripe', 'standard-webhooks', 'shopify', 'slack', 'hmac'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const isProvider = (value: string): value is Provider =>
  (PROVIDERS as readonly string[]).includes(value);

/** The stream every source targets unless it names another (shared/src/streams/webhooks.ts). */
export const WEBHOOKS_STREAM = 'webhooks';

/** Stripe's and Standard Webhooks' default: a signed timestamp older or newer than this is stale. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Source ids are the credential of a provider that cannot send a bearer key (the URL is all it
 * has), so they carry 130 random bits: `wh_` and 26 base32 characters.
 */
export const SOURCE_ID_PATTERN = /^wh_[a-z2-7]{26}$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function newSourceId(): string {
  let id = 'wh_';
  for (const byte of crypto.getRandomValues(new Uint8Array(26))) id += BASE32[byte & 31];
  return id;
}

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name: letters, digits and dashes, at most 64')
  .transform((name) => name.toLowerCase());

/** A JSON pointer (RFC 6901) into a delivery, e.g. `/payload/data/object/id`. */
const pointer = z.string().regex(/^(?:\/[^/]{0,128}){1,16}$/, 'a JSON pointer such as /payload/id');

/**
 * The generic HMAC scheme (provider `hmac`): what a provider without a named scheme signs. The
 * signed content is a template over `{timestamp}`, `{id}` and `{body}` (default `{body}`).
 */
export const hmacSchemeSchema = z
  .object({
    header: headerName.default('x-signature'),
    algorithm: z.enum(['sha256', 'sha512']).default('sha256'),
    encoding: z.enum(['hex', 'base64']).default('hex'),
    /** Text before the MAC in the header, e.g. `sha256=`. */
    prefix: z.string().max(32).default(''),
    timestampHeader: headerName.optional(),
    idHeader: headerName.optional(),
    typeHeader: headerName.optional(),
    signedContent: z
      .string()
      .max(128)
      .refine((t) => t.split('{body}').length === 2, 'the signed content must include {body} once')
      .default('{body}'),
  })
  .strict()
  // A timestamp header checked against the tolerance is worth nothing unless it is signed: a
  // replayed body would pass with a fresh one. (An id header may go unsigned, as GitHub's does.)
  .refine((s) => s.timestampHeader === undefined || s.signedContent.includes('{timestamp}'), {
    message: 'a timestampHeader needs {timestamp} in signedContent (else it is not signed)',
    path: ['signedContent'],
  });
export type HmacScheme = z.output<typeof hmacSchemeSchema>;

/** Event field -> JSON pointer into `{provider, type, account, delivery_id, payload, received_at}`. */
export const mappingSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), pointer)
  .refine((m) => Object.keys(m).length > 0 && Object.keys(m).length <= 64, '1 to 64 fields');
export type Mapping = z.output<typeof mappingSchema>;

/** What a source declares beyond its provider and secrets; stored as JSON beside them. */
export const sourceOptionsSchema = z
  .object({
    toleranceSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_TOLERANCE_SECONDS),
    hmac: hmacSchemeSchema.optional(),
    mapping: mappingSchema.optional(),
  })
  .strict();
export type SourceOptions = z.output<typeof sourceOptionsSchema>;

/** A secret and when it stops verifying: null while current, a time once rotated out. */
export interface SourceSecret {
  readonly value: string;
  readonly retiresAt: number | null;
}

export interface WebhookSource {
  readonly id: string;
  readonly tenant: string;
  readonly provider: Provider;
  /** The current secret first, then the one being retired (if any). */
  readonly secrets: readonly SourceSecret[];
  readonly stream: string;
  readonly options: SourceOptions;
}

/** The secrets that still verify at `nowMs`. */
export const liveSecrets = (source: WebhookSource, nowMs: number): SourceSecret[] =>
  source.secrets.filter((s) => s.retiresAt === null || s.retiresAt > nowMs);

/**
 * The key of a Standard Webhooks secret: the base64 after `whsec_`, its padding optional (a secret
 * taken without it must verify too), or undefined when it is not base64 at all.
 */
export function standardSecretBytes(secret: string): Uint8Array<ArrayBuffer> | undefined {
  const text = /^whsec_([A-Za-z0-9+/]+)={0,2}$/.exec(secret)?.[1];
  return text === undefined ? undefined : fromBase64(text.padEnd(Math.ceil(text.length / 4) * 4, '='));
}

/**
 * Whether a secret suits its provider: Standard Webhooks secrets are `whsec_` and base64 of 24 to
 * 64 bytes (decoded as verification decodes them: what passes here is never a key of zero bytes);
 * every other is 8 to 512 printable ASCII characters, used as its bytes.
 */
export function secretProblem(provider: Provider, secret: string): string | undefined {
  if (provider === 'standard-webhooks') {
    const bytes = standardSecretBytes(secret)?.length ?? 0;
    return bytes >= 24 && bytes <= 64
      ? undefined
      : 'a Standard Webhooks secret is whsec_ and base64 of 24-64 bytes';
  }
  // Spaces inside are allowed (GitHub's own example secret has them), not around: a pasted secret
  // with a stray space would fail every delivery.
  return /^[\x21-\x7e][\x20-\x7e]{6,510}[\x21-\x7e]$/.test(secret)
    ? undefined
    : 'a secret is 8-512 printable ASCII characters, no space at either end';
}
