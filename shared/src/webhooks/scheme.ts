// What every provider's signature scheme says of a delivery, and the refusals it can give. One
// module a provider (providers/*.ts); verify.ts runs them all the same way. Web APIs only.

import type { Result } from '../result.ts';
import type { WebhookSource } from './source.ts';

/** The raw delivery: its headers and the exact bytes the provider signed (never re-serialised). */
export interface RawDelivery {
  readonly headers: Headers;
  readonly body: Uint8Array<ArrayBuffer>;
}

export type MacAlgorithm = 'sha256' | 'sha512';

/** What to MAC and what the provider sent to compare with (one or several candidate MACs). */
export interface SignedContent {
  readonly algorithm: MacAlgorithm;
  readonly content: Uint8Array<ArrayBuffer>;
  readonly candidates: readonly Uint8Array[];
  /** The signed timestamp (seconds), when the scheme signs one: checked against the tolerance. */
  readonly timestampSeconds?: number;
}

/** A verified delivery as the `webhooks` stream counts it. */
export interface Delivery {
  /** The provider's delivery id: the event id, so a redelivery is counted once. */
  readonly id: string;
  readonly type: string;
  readonly account: string;
  readonly payload: unknown;
  /** Slack's url_verification: answered with this, not produced. */
  readonly challenge?: string;
}

/** Why a delivery was refused. 401s are about the signature, 400s about what was signed. */
export type Described = Omit<Delivery, 'id'> & { readonly id: string | undefined };

export type RefusalReason =
  | 'missing_signature'
  | 'malformed_signature'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'malformed_body'
  | 'missing_header';

export interface Refusal {
  readonly status: 400 | 401;
  readonly reason: RefusalReason;
  /** Says what was wrong, never what was expected (no MAC, no secret). */
  readonly message: string;
}

export const unsigned = (reason: RefusalReason, message: string): Refusal => ({
  status: 401,
  reason,
  message,
});
export const malformed = (reason: RefusalReason, message: string): Refusal => ({
  status: 400,
  reason,
  message,
});

export interface ProviderScheme {
  /** The signed content and the sent MACs, or why the headers hold no usable signature. */
  signed(delivery: RawDelivery, source: WebhookSource): Result<SignedContent, Refusal>;
  /**
   * The verified delivery's id, type, account and payload; the body is not parsed before. No id:
   * the provider gives none, and a digest of the body stands in (identical redeliveries share it).
   */
  describe(delivery: RawDelivery, source: WebhookSource): Result<Described, Refusal>;
}

/** A header's value, trimmed, or undefined when absent or empty. */
export function header(delivery: RawDelivery, name: string): string | undefined {
  const value = delivery.headers.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A decimal count of seconds (a signed timestamp), or undefined. */
export function seconds(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,12}$/.test(text)) return undefined;
  return Number(text);
}
