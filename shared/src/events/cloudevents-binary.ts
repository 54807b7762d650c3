// CloudEvents binary content mode (CloudEvents HTTP protocol binding 1.0, section 3.1): the event's
// data is the body and its attributes are `ce-*` headers, as the SDKs' default emitters, Knative,
// Argo Events and Dapr send it. This only maps such a request onto the structured-mode object that
// validate.ts already judges (cloudEventSchema): the schema, the limits and the tenant rule stay in
// one place, and a binary-mode event is accepted or refused exactly as its structured twin would be.
// Web APIs only: the edge runs this on Deno and Bun.

import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';

/** Its presence makes a request binary mode (binding 3.1.3), unless the body is structured. */
export const BINARY_MODE_HEADER = 'ce-specversion';

/**
 * The attributes sluice reads from headers. Other extensions are ignored, as unknown fields of a
 * structured event are; `ce-datacontenttype` too, since in binary mode Content-Type is the data's type.
 */
const ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'time', 'tenant'] as const;

export type BinaryAttributes = Partial<Record<(typeof ATTRIBUTES)[number], string>>;

/** Data types binary mode takes: JSON only, since a stream's payload is a JSON object. */
export const BINARY_DATA_TYPES: readonly string[] = ['application/json', 'application/*+json'];

// RFC 6838 type and subtype names, the subtype with the +json structured-syntax suffix.
const JSON_SUFFIXED = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\+json$/;

export function isBinaryMode(headers: Headers): boolean {
  return headers.get(BINARY_MODE_HEADER) !== null;
}

/**
 * Whether a media type (lower case, without parameters) is JSON. NOTE: never text/plain, form
 * types or none: those are what a page may post cross-site without a CORS preflight, and binary
 * mode must not turn such a post into an event.
 */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || JSON_SUFFIXED.test(type);
}

// What the binding lets a sender write unencoded: printable ASCII and space (anything else it
// percent-encodes, binding 3.1.3.2). Refusing the rest keeps the reading the same on every
// runtime, whatever each makes of raw non-ASCII header bytes.
const HEADER_TEXT = /^[\x20-\x7e]*$/;

/**
 * The attributes of a binary-mode request, percent-decoded (as UTF-8). A value outside printable
 * ASCII or with a malformed %-sequence is a 400 naming the header, never a throw; the value itself
 * is not echoed. Presence and shape are left to cloudEventSchema.
 */
export function binaryAttributes(headers: Headers): Result<BinaryAttributes, AppError> {
  const attributes: BinaryAttributes = {};
  for (const name of ATTRIBUTES) {
    const header = `ce-${name}`;
    const raw = headers.get(header);
    if (raw === null) continue;
    if (!HEADER_TEXT.test(raw)) {
      return fail(
        appError(
          'bad_request',
          `header ${header} holds characters outside printable ASCII; CloudEvents binary mode percent-encodes them`,
          { details: { header } },
        ),
      );
    }
    const value = percentDecode(raw);
    if (value === undefined) {
      return fail(
        appError(
          'bad_request',
          `header ${header} is not valid percent-encoding (a % needs two hex digits, and the bytes must be UTF-8)`,
          { details: { header } },
        ),
      );
    }
    attributes[name] = value;
  }
  return ok(attributes);
}

function percentDecode(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    // Decodes %XX sequences as UTF-8 and throws on anything malformed (a stray %, bytes that are
    // not UTF-8, overlong forms, encoded surrogates); `+` stays a plus, as the binding wants.
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * The structured-mode event of a binary-mode request: its attributes beside the body as `data`.
 * Absent attributes stay absent, so cloudEventSchema names each missing one.
 */
export function binaryEvent(attributes: BinaryAttributes, data: unknown): Record<string, unknown> {
  return { ...attributes, data };
}

const encoder = new TextEncoder();

/** Size of the event for the per-event limit: the data's bytes and its attributes'. */
export function binaryEventBytes(attributes: BinaryAttributes, dataBytes: number): number {
  let bytes = dataBytes;
  for (const value of Object.values(attributes))
    if (value !== undefined) bytes += encoder.encode(value).byteLength;
  return bytes;
}
