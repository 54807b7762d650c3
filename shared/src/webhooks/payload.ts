// Reading a verified body: JSON (every provider), or a form (Slack's commands and interactivity).
// Only after the signature matched: unverified bytes are never parsed. Web APIs only.

import type { Result } from '../result.ts';
import { fail, ok } from '../result.ts';
import type { RawDelivery, Refusal } from './scheme.ts';
import { malformed } from './scheme.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function bodyText(delivery: RawDelivery): Result<string, Refusal> {
  try {
    return ok(strictUtf8.decode(delivery.body));
  } catch {
    return fail(malformed('malformed_body', 'the body is not valid UTF-8'));
  }
}

export function jsonBody(delivery: RawDelivery): Result<unknown, Refusal> {
  const text = bodyText(delivery);
  if (!text.ok) return text;
  try {
    return ok(JSON.parse(text.value));
  } catch {
    return fail(malformed('malformed_body', 'the body is not JSON'));
  }
}

/** A JSON object's member, if the value is an object and the member a non-empty string. */
export function textAt(value: unknown, ...path: readonly string[]): string | undefined {
  let at: unknown = value;
  for (const name of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[name];
  }
  return typeof at === 'string' && at !== '' ? at : undefined;
}

/** A stable id for a delivery its provider gives none: identical redeliveries share it. */
export async function bodyDigest(delivery: RawDelivery): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', delivery.body));
  let hex = '';
  for (const byte of digest.subarray(0, 16)) hex += byte.toString(16).padStart(2, '0');
  return `sha256:${hex}`;
}
