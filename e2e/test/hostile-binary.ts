// Hostile CloudEvents binary content mode (issue 22, item 5): the `ce-*` headers of a binary-mode
// request, built from the event hostile-events.ts made, then changed by one variant with the
// verdict the contract gives it. A variant is request-level (a malformed %-sequence or a raw
// non-ASCII byte is a 400, a data type that is not JSON a 415: `demand`) or left to the event
// (`events`, its `verdict` combined with the event's own): a 10 KB ce-id, an unknown ce-type, a
// missing attribute, specversion 0.3, text/plain with ce-specversion, structured mode winning.

import fc from 'fast-check';
import type { EnvelopeMutation, MadeEvent, Verdict } from './hostile-events.ts';
import { combine, named } from './hostile-events.ts';

export interface BinaryVariant {
  readonly label: string;
  /** What the request gets before its event is judged: the event decides (`events`), 400 or 415. */
  readonly demand: 'events' | 400 | 415;
  /** With `events`, this variant's verdict on the event. */
  readonly verdict: Verdict;
  /** The Content-Type it sends instead of the format's (null: none at all). */
  readonly contentType?: string | null;
  readonly apply: (headers: Record<string, string>) => Record<string, string>;
}

const variant = (
  label: string,
  demand: BinaryVariant['demand'],
  verdict: Verdict,
  apply: (headers: Record<string, string>) => Record<string, string>,
  contentType?: string | null,
): BinaryVariant =>
  named(
    { label, demand, verdict, apply, ...(contentType === undefined ? {} : { contentType }) },
    `binary ${label} (${demand === 'events' ? verdict : demand})`,
  );

const set = (name: string, value: string) => (h: Record<string, string>) => ({ ...h, [name]: value });
const drop = (name: string) => (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));

export const PLAIN_BINARY = variant('plain', 'events', 'accept', (h) => h);

/** The made event untouched: binary mode carries no envelope, its headers are changed instead. */
export const UNCHANGED_ENVELOPE: EnvelopeMutation = named(
  { label: 'none', verdict: 'accept', apply: (e: Record<string, unknown>) => e },
  'envelope: none (accept)',
);

export const binaryVariant: fc.Arbitrary<BinaryVariant> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(PLAIN_BINARY) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      variant('ce-id of 10 KB', 'events', 'reject', set('ce-id', 'i'.repeat(10_240))),
      variant('ce-type of an unknown stream', 'events', 'reject', set('ce-type', 'nope')),
      variant('ce-type percent-encoded (e%63ommerce...)', 'events', 'accept', (h) => ({
        ...h,
        'ce-type': (h['ce-type'] ?? '').replace(/^(.)/, (c) => `%${c.charCodeAt(0).toString(16)}`),
      })),
      variant('no ce-id', 'events', 'reject', drop('ce-id')),
      variant('no ce-source', 'events', 'reject', drop('ce-source')),
      variant('no ce-type', 'events', 'reject', drop('ce-type')),
      variant('ce-specversion 0.3', 'events', 'reject', set('ce-specversion', '0.3')),
      variant('ce-specversion empty', 'events', 'reject', set('ce-specversion', '')),
      variant(
        'ce-source percent-encoded unicode',
        'events',
        'accept',
        set('ce-source', '/caf%C3%A9/%F0%9F%98%80'),
      ),
      variant('ce-source %00 (NUL)', 'events', 'reject', set('ce-source', '/a%00b')),
      variant('ce-tenant bad%20tenant', 'events', 'reject', set('ce-tenant', 'bad%20tenant')),
      variant('ce-time RFC 3339', 'events', 'accept', set('ce-time', '2026-01-01T00:00:00Z')),
      variant('ce-time garbage', 'events', 'reject', set('ce-time', 'yesterday')),
      variant('ce-time epoch ms (a header is text)', 'events', 'reject', set('ce-time', '1767225600000')),
      variant(
        'ce-datacontenttype text/xml (not used)',
        'events',
        'accept',
        set('ce-datacontenttype', 'text/xml'),
      ),
      variant('unknown 4 KB extension', 'events', 'accept', set('ce-other', 'x'.repeat(4_096))),
      variant('ce-id a%zz', 400, 'either', set('ce-id', 'a%zz')),
      variant('ce-source a lone %', 400, 'either', set('ce-source', '/a%')),
      variant('ce-source encoded surrogate %ED%A0%80', 400, 'either', set('ce-source', '/%ED%A0%80')),
      variant('ce-source overlong %C0%AF', 400, 'either', set('ce-source', '/%C0%AF')),
      variant('ce-tenant %FF', 400, 'either', set('ce-tenant', '%FF')),
      // A header is a byte string: U+00E9 goes out as the byte 0xE9, U+00C3 U+00A9 as UTF-8 é.
      variant('ce-source raw latin-1 byte', 400, 'either', set('ce-source', '/caf\u00e9')),
      variant('ce-source raw UTF-8 bytes', 400, 'either', set('ce-source', '/caf\u00c3\u00a9')),
      variant('text/plain with ce-specversion', 415, 'either', (h) => h, 'text/plain'),
      variant('form post with ce-specversion', 415, 'either', (h) => h, 'application/x-www-form-urlencoded'),
      variant('no Content-Type with ce-specversion', 415, 'either', (h) => h, null),
      variant('application/x-ndjson with ce-specversion', 415, 'either', (h) => h, 'application/x-ndjson'),
      variant('a +json data type', 'events', 'accept', (h) => h, 'application/vnd.shop+json'),
      // Structured mode wins: the body (the data alone) is read as the whole event, which it is not.
      variant(
        'cloudevents+json with ce-specversion',
        'events',
        'reject',
        (h) => h,
        'application/cloudevents+json',
      ),
    ),
  },
);

/**
 * Percent-encodes a value as the CloudEvents HTTP binding asks: its UTF-8 bytes outside printable
 * ASCII, and space, `"` and `%`. A lone surrogate becomes U+FFFD (its event is refused for the
 * same text in `data`).
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A binary-mode request of one made CloudEvent: its headers and body text, its verdict updated. */
export function binaryRequest(
  made: MadeEvent,
  binary: BinaryVariant,
  toJson: (value: unknown) => string,
): {
  event: MadeEvent;
  headers: Record<string, string>;
  text: string;
  contentType: string | null | undefined;
} {
  const ce = (typeof made.value === 'object' && made.value !== null ? made.value : {}) as Record<
    string,
    unknown
  >;
  const headers: Record<string, string> = {};
  for (const name of ['specversion', 'id', 'source', 'type', 'time', 'tenant']) {
    const value = ce[name];
    if (value !== undefined && value !== null)
      headers[`ce-${name}`] = percentEncode(typeof value === 'string' ? value : JSON.stringify(value));
  }
  // A request-level variant leaves the event as it is (the request never gets to judge it).
  const event: MadeEvent =
    binary === PLAIN_BINARY || binary.demand !== 'events'
      ? made
      : { ...made, verdict: combine([made.verdict, binary.verdict]), labels: [...made.labels, binary.label] };
  return { event, headers: binary.apply(headers), text: toJson(ce.data), contentType: binary.contentType };
}
