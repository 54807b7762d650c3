// Hostile POST /v1/events requests (fast-check) and the contract their answers are held to:
// body formats, content types, encodings, corrupt bodies, trace headers and sizes around the
// events of hostile-events.ts, and the ce-* headers of CloudEvents binary mode (hostile-binary.ts). `check` returns the first breach of the contract, or undefined.

import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { BinaryVariant } from './hostile-binary.ts';
import { binaryRequest, binaryVariant, PLAIN_BINARY, UNCHANGED_ENVELOPE } from './hostile-binary.ts';
import type { EventSpec, Focus, MadeEvent, MakeContext } from './hostile-events.ts';
import { eventSpec, makeEvent, named, toJson } from './hostile-events.ts';

export type Target = 'edge-deno' | 'edge-bun' | 'ingest';
export type Format =
  | 'json'
  | 'json-array'
  | 'ndjson'
  | 'cloudevents'
  | 'cloudevents-batch'
  | 'cloudevents-binary';

const FORMATS: readonly Format[] = [
  'json',
  'json-array',
  'ndjson',
  'cloudevents',
  'cloudevents-batch',
  'cloudevents-binary',
];

/** Formats of one event per request. */
const SINGLE: ReadonlySet<Format> = new Set(['json', 'cloudevents', 'cloudevents-binary']);

/** What a request-level part asks of the status: a fixed status, or the events decide (`events`). */
type Demand = 'events' | 400 | 413 | 415 | 'either';

interface Variant {
  readonly label: string;
  readonly demand: Demand;
}

export interface ContentTypeVariant extends Variant {
  readonly make: (proper: string) => string | undefined;
}

export interface EncodingVariant extends Variant {
  readonly header: string | undefined;
  readonly encode: (bytes: Buffer) => Buffer;
}

export interface BodyVariant extends Variant {
  readonly mangle: (text: string, format: Format) => Buffer;
}

export type Size = 'normal' | 'bulk' | 'too-many-events' | 'oversized-event' | 'gzip-bomb';

export interface IntakeSpec {
  readonly target: Target;
  readonly format: Format;
  readonly events: readonly EventSpec[];
  readonly contentType: ContentTypeVariant;
  readonly encoding: EncodingVariant;
  readonly body: BodyVariant;
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
  readonly size: Size;
  /** Sent twice, byte for byte: both answers must agree, and the ids count once. */
  readonly resend: boolean;
  /** The change to the ce-* headers of a binary-mode request (the other formats have none). */
  readonly binary: BinaryVariant;
}

const PROPER: Record<Format, string> = {
  json: 'application/json',
  'json-array': 'application/json',
  ndjson: 'application/x-ndjson',
  cloudevents: 'application/cloudevents+json',
  'cloudevents-batch': 'application/cloudevents-batch+json',
  // Binary mode: the body is the data, its type JSON; ce-specversion says it is a CloudEvent.
  'cloudevents-binary': 'application/json',
};

const ct = (
  label: string,
  demand: Demand,
  make: (proper: string) => string | undefined,
): ContentTypeVariant => named({ label, demand, make }, `content-type ${label}`);

const PROPER_CT = ct('proper', 'events', (p) => p);

export const contentTypeVariant: fc.Arbitrary<ContentTypeVariant> = fc.oneof(
  { weight: 24, arbitrary: fc.constant(PROPER_CT) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      // A request without a Content-Type is what any web page can post cross-site: 415.
      ct('missing', 415, () => undefined),
      ct('empty', 415, () => ''),
      ct('text/plain', 415, () => 'text/plain'),
      ct('text/plain;charset=UTF-8', 415, () => 'text/plain;charset=UTF-8'),
      ct('multipart/form-data', 415, () => 'multipart/form-data; boundary=----x'),
      ct('application/x-www-form-urlencoded', 415, () => 'application/x-www-form-urlencoded'),
      ct('application/xml', 415, () => 'application/xml'),
      ct('upper case', 'events', (p) => p.toUpperCase()),
      ct('charset=utf-8', 'events', (p) => `${p}; charset=utf-8`),
      ct('charset=latin1', 'either', (p) => `${p}; charset=latin1`),
      ct('two types', 'either', (p) => `${p}, text/plain`),
      ct('garbage parameters', 'either', (p) => `${p};;;=;x`),
    ),
  },
);

const enc = (
  label: string,
  demand: Demand,
  header: string | undefined,
  encode: (b: Buffer) => Buffer,
): EncodingVariant => named({ label, demand, header, encode }, `encoding ${label}`);

const IDENTITY = enc('identity', 'events', undefined, (b) => b);

export const encodingVariant: fc.Arbitrary<EncodingVariant> = fc.oneof(
  { weight: 16, arbitrary: fc.constant(IDENTITY) },
  { weight: 4, arbitrary: fc.constant(enc('gzip', 'events', 'gzip', (b) => gzipSync(b))) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      enc('GZIP upper case', 'events', 'GZIP', (b) => gzipSync(b)),
      enc('gzip header, corrupt deflate data', 400, 'gzip', (b) => {
        const z = gzipSync(b);
        for (let i = 10; i < z.length - 8; i += 3) z[i] = (z[i] ?? 0) ^ 0x5a;
        return z;
      }),
      enc('gzip cut in half', 400, 'gzip', (b) => {
        const z = gzipSync(b);
        return z.subarray(0, Math.max(11, z.length >> 1));
      }),
      enc('gzip declared, plain body', 400, 'gzip', (b) => b),
      enc('br', 415, 'br', (b) => b),
      enc('deflate', 415, 'deflate', (b) => b),
      enc('gzip twice', 'either', 'gzip, gzip', (b) => gzipSync(gzipSync(b))),
    ),
  },
);

const body = (label: string, demand: Demand, mangle: (text: string, format: Format) => Buffer): BodyVariant =>
  named({ label, demand, mangle }, `body ${label}`);

const utf8 = (text: string) => Buffer.from(text, 'utf8');

const AS_BUILT = body('as built', 'events', (t) => utf8(t));

export const bodyVariant: fc.Arbitrary<BodyVariant> = fc.oneof(
  { weight: 30, arbitrary: fc.constant(AS_BUILT) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      body('cut in half', 'either', (t) => utf8(t.slice(0, t.length >> 1))),
      body('not JSON', 400, () => utf8('this is not json')),
      body('empty', 400, () => Buffer.alloc(0)),
      body('only whitespace', 400, () => utf8(' \n\t ')),
      body('byte-order mark first', 'either', (t) => utf8(`\ufeff${t}`)),
      body('invalid UTF-8 byte at the end', 400, (t) => Buffer.concat([utf8(t), Buffer.from([0xff])])),
      body('trailing garbage', 'either', (t) => utf8(`${t} ]]}`)),
      body('a JSON string', 400, () => utf8('"events"')),
      body('JSON null', 400, () => utf8('null')),
    ),
  },
);

const HEX = '0123456789abcdef';
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...HEX), minLength: n, maxLength: n });
/** Header values a client can put on the wire: visible ASCII, space and tab. */
const headerText = (max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: max,
  });

export const traceparentVariant: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t}-${s}-01`) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constant('a'.repeat(8_000)),
      fc.constant(`00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`),
      fc.constant(`ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01`),
      fc.constant('00-zzzz-yyyy-01'),
      fc.constant(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-extra-${'x'.repeat(2_000)}`),
      headerText(200).map((s) => s.trim()),
    ),
  },
);

export const tracestateVariant: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('vendor=value') },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constant(Array.from({ length: 200 }, (_, i) => `k${i}=v${i}`).join(',')),
      fc.constant(`,,,===,${'x'.repeat(4_000)}`),
      headerText(300).map((s) => s.trim()),
    ),
  },
);

export const sizeVariant: fc.Arbitrary<Size> = fc.oneof(
  { weight: 26, arbitrary: fc.constant<Size>('normal') },
  { weight: 1, arbitrary: fc.constantFrom<Size>('bulk', 'too-many-events', 'oversized-event', 'gzip-bomb') },
);

/** Which request-level parts may be hostile, beside the event parts (one family of the suite each). */
export interface RequestFocus extends Focus {
  /** Content type, content encoding and body bytes. */
  readonly media: boolean;
  readonly headers: boolean;
  readonly size: boolean;
  /** The ce-* headers of binary mode. */
  readonly binary: boolean;
}

export function intakeSpec(focus: RequestFocus): fc.Arbitrary<IntakeSpec> {
  const benign = <T>(arb: fc.Arbitrary<T>, hostile: boolean, ordinary: T) =>
    hostile ? arb : fc.constant(ordinary);
  return (
    fc
      .record({
        target: fc.constantFrom<Target>('edge-deno', 'edge-bun', 'ingest'),
        format: fc.constantFrom<Format>(...FORMATS),
        events: fc.array(eventSpec(focus), { minLength: 1, maxLength: 6 }),
        contentType: benign(contentTypeVariant, focus.media, PROPER_CT),
        encoding: benign(encodingVariant, focus.media, IDENTITY),
        body: benign(bodyVariant, focus.media, AS_BUILT),
        traceparent: benign(traceparentVariant, focus.headers, undefined),
        tracestate: benign(tracestateVariant, focus.headers, undefined),
        size: benign(sizeVariant, focus.size, 'normal' as Size),
        binary: benign(binaryVariant, focus.binary, PLAIN_BINARY),
        resend: fc.oneof(
          { weight: 9, arbitrary: fc.constant(false) },
          { weight: 1, arbitrary: fc.constant(true) },
        ),
      })
      // A single-event format holds one event.
      .map((s) => (SINGLE.has(s.format) ? { ...s, events: s.events.slice(0, 1) } : s))
  );
}

/** A request as sent: its bytes and headers, its events and the statuses the contract allows. */
export interface BuiltRequest {
  readonly target: Target;
  readonly bytes: Buffer;
  readonly headers: Record<string, string>;
  readonly events: readonly MadeEvent[];
  /** Statuses the contract allows; with 202 or an all-invalid 400, the per-event verdicts hold too. */
  readonly allowed: ReadonlySet<number>;
  /** Per-event verdicts are checked (the request-level parts leave the events to decide). */
  readonly perEvent: boolean;
  /** Short text of its hostile parts, to group breaches by kind. */
  readonly hostile: string;
  readonly summary: string;
}

let bomb: Buffer | undefined;
/** 11 MiB of JSON whitespace in about 11 KB of gzip: past the 10 MiB limit once inflated. */
function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.from(`[${' '.repeat(11 * 1024 * 1024)}]`));
  return bomb;
}

export function buildRequest(asked: IntakeSpec, nextSeq: () => number, now: number): BuiltRequest {
  // Many events need a format that holds many.
  const many = asked.size === 'bulk' || asked.size === 'too-many-events';
  const spec: IntakeSpec = many && SINGLE.has(asked.format) ? { ...asked, format: 'json-array' } : asked;
  const binary = spec.format === 'cloudevents-binary';
  const cloud = spec.format === 'cloudevents' || spec.format === 'cloudevents-batch' || binary;
  // Binary mode has no envelope to change: its hostility is in its headers (spec.binary).
  const make = (e: EventSpec): MadeEvent =>
    makeEvent(
      binary ? { ...e, envelope: UNCHANGED_ENVELOPE } : e,
      { seq: nextSeq(), now } satisfies MakeContext,
      cloud,
    );
  let events = spec.events.map(make);
  if (spec.size === 'bulk' || spec.size === 'too-many-events') {
    // Many small events in one request (it counts as one request): the first spec, benign copies.
    const count = spec.size === 'bulk' ? 2_000 : 10_001;
    const first = spec.events[0];
    events = first === undefined ? events : Array.from({ length: count }, () => make(first));
  }
  if (spec.size === 'oversized-event') {
    const first = events[0];
    if (first !== undefined && typeof first.value === 'object' && first.value !== null) {
      const value = structuredClone(first.value) as { data?: Record<string, unknown> };
      if (typeof value.data === 'object' && value.data !== null) value.data.padding = 'p'.repeat(1_100_000);
      events = [
        { ...first, value, verdict: 'reject', labels: [...first.labels, 'event over 1 MiB'] },
        ...events.slice(1),
      ];
    }
  }
  let ceHeaders: Record<string, string> = {};
  let contentType = spec.contentType.make(PROPER[spec.format]);
  let text: string;
  const first = events[0];
  if (binary && first !== undefined) {
    const built = binaryRequest(first, spec.binary, toJson);
    events = [built.event];
    ceHeaders = built.headers;
    text = built.text;
    if (built.contentType !== undefined) contentType = built.contentType ?? undefined;
  } else {
    const values = events.map((e) => e.value);
    text =
      spec.format === 'ndjson'
        ? `${values.map(toJson).join('\n')}\n`
        : spec.format === 'json' || spec.format === 'cloudevents'
          ? toJson(values[0])
          : toJson(values);
  }
  const plain = spec.body.mangle(text, spec.format);
  const bytes = spec.size === 'gzip-bomb' ? gzipBomb() : spec.encoding.encode(plain);
  const headers: Record<string, string> = { ...ceHeaders };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const encoding = spec.size === 'gzip-bomb' ? 'gzip' : spec.encoding.header;
  if (encoding !== undefined) headers['content-encoding'] = encoding;
  // NOTE: a 10 KB ce-id beside an 8 KB traceparent passes Node's 16 KiB of request headers (a 431
  // that is not what this storm is about): past 15,000 bytes, the trace headers stay off.
  const ceBytes = Object.entries(ceHeaders).reduce((n, [k, v]) => n + k.length + v.length, 0);
  const traceBytes = (spec.traceparent?.length ?? 0) + (spec.tracestate?.length ?? 0);
  const traced = ceBytes + traceBytes < 15_000;
  if (traced && spec.traceparent !== undefined) headers.traceparent = spec.traceparent;
  if (traced && spec.tracestate !== undefined) headers.tracestate = spec.tracestate;

  // Binary mode: its data type is checked first, then its headers, before a byte of the body.
  const binaryType = binary && spec.binary.contentType !== undefined;
  const demands: Demand[] = [binaryType ? spec.binary.demand : spec.contentType.demand];
  if (binary && spec.binary.demand !== 'events') demands.push(spec.binary.demand);
  if (spec.size === 'gzip-bomb') demands.push(413);
  else demands.push(spec.encoding.demand, spec.body.demand);
  if (spec.size === 'too-many-events') demands.push(413);
  const { allowed, perEvent } = allowedStatuses(demands, events, spec.format);
  const summary = [
    `${spec.target} ${spec.format}`,
    binaryType ? `content-type ${contentType ?? 'none'}` : `content-type ${spec.contentType.label}`,
    binary ? `binary ${spec.binary.label}` : '',
    `encoding ${spec.size === 'gzip-bomb' ? 'gzip bomb' : spec.encoding.label}`,
    `body ${spec.body.label}`,
    spec.size === 'normal' ? '' : `size ${spec.size}`,
    traced ? '' : 'trace headers left off (header budget)',
    spec.traceparent === undefined ? '' : `traceparent ${JSON.stringify(spec.traceparent.slice(0, 60))}`,
    spec.tracestate === undefined ? '' : `tracestate ${JSON.stringify(spec.tracestate.slice(0, 60))}`,
    `events [${events
      .slice(0, 8)
      .map((e) => `${e.stream} ${e.verdict}${e.labels.length > 0 ? ` (${e.labels.join(', ')})` : ''}`)
      .join('; ')}${events.length > 8 ? `; ... ${events.length} in all` : ''}]`,
  ]
    .filter((s) => s !== '')
    .join(', ');
  const hostile = [
    ...(spec.contentType.label === 'proper' || binaryType ? [] : [`content-type ${spec.contentType.label}`]),
    ...(binary && spec.binary !== PLAIN_BINARY && spec.binary.demand !== 'events' ? [spec.binary.label] : []),
    ...(spec.size === 'gzip-bomb' || spec.encoding.label === 'identity' || spec.encoding.label === 'gzip'
      ? []
      : [`encoding ${spec.encoding.label}`]),
    ...(spec.body.label === 'as built' ? [] : [`body ${spec.body.label}`]),
    ...(spec.size === 'normal' ? [] : [spec.size]),
    ...new Set(events.flatMap((e) => e.labels)),
  ].join(', ');
  return { target: spec.target, bytes, headers, events, allowed, perEvent, hostile, summary };
}

function allowedStatuses(
  demands: readonly Demand[],
  events: readonly MadeEvent[],
  format: Format,
): { allowed: Set<number>; perEvent: boolean } {
  // The first fixed status a request-level part demands decides: content type, then encoding, body, size.
  const fixed = demands.find((d): d is 400 | 413 | 415 => typeof d === 'number');
  if (fixed !== undefined && !demands.slice(0, demands.indexOf(fixed)).includes('either'))
    return { allowed: new Set([fixed]), perEvent: false };
  if (demands.includes('either')) return { allowed: new Set([202, 400, 413, 415]), perEvent: false };
  const verdicts = events.map((e) => e.verdict);
  // A single-event body that is an array is refused whole (no per-event details): 400 either way.
  const single = SINGLE.has(format);
  if (verdicts.every((v) => v === 'reject')) return { allowed: new Set([400]), perEvent: !single };
  if (verdicts.includes('accept')) return { allowed: new Set([202]), perEvent: true };
  return { allowed: new Set([202, 400]), perEvent: true };
}

/** The 202 body and the 400 envelope of intake. */
interface IntakeAnswer {
  accepted?: number;
  ids?: unknown[];
  rejected?: { index: number }[];
  error?: { code?: string; details?: { rejected?: { index: number }[] } };
}

/** The first breach of the contract in an answer, or undefined. */
export function check(
  request: BuiltRequest,
  status: number,
  retryAfter: string | null,
  text: string,
): string | undefined {
  if (status >= 500) {
    if (status === 503 && retryAfter !== null)
      return `503 (Retry-After ${retryAfter}) without deliberate overload`;
    return `${status}: ${text.slice(0, 300)}`;
  }
  if (!request.allowed.has(status))
    return `status ${status}, expected ${[...request.allowed].join(' or ')}: ${text.slice(0, 300)}`;
  let answer: IntakeAnswer;
  try {
    answer = JSON.parse(text) as IntakeAnswer;
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (status !== 202) {
    if (typeof answer.error?.code !== 'string')
      return `status ${status} without the error envelope: ${text.slice(0, 200)}`;
    if (status === 400 && request.perEvent) {
      const rejected = new Set((answer.error.details?.rejected ?? []).map((r) => r.index));
      const missing = request.events.findIndex((e, i) => e.verdict === 'reject' && !rejected.has(i));
      if (missing >= 0) return `400 without a per-event error for event ${missing}: ${text.slice(0, 300)}`;
    }
    return undefined;
  }
  if (!request.perEvent) return undefined;
  const rejected = new Set((answer.rejected ?? []).map((r) => r.index));
  const ids = answer.ids ?? [];
  let next = 0;
  for (const [i, event] of request.events.entries()) {
    if (rejected.has(i)) {
      if (event.verdict === 'accept')
        return `event ${i} (${event.labels.join(', ') || 'benign'}) was rejected: ${text.slice(0, 400)}`;
      continue;
    }
    if (event.verdict === 'reject')
      return `event ${i} (${event.labels.join(', ')}) was accepted (202): ${text.slice(0, 300)}`;
    const id = ids[next];
    next += 1;
    if (event.verdict === 'accept' && id !== event.id)
      return `event ${i} accepted under id ${JSON.stringify(id)}, sent as ${JSON.stringify(event.id)}`;
  }
  if (next !== ids.length || answer.accepted !== ids.length)
    return `202 names ${ids.length} ids and accepted ${answer.accepted} for ${next} events not rejected`;
  return undefined;
}

/** The accepted events of a 202 answer with the ids they were accepted under (request order). */
export function acceptedOf(request: BuiltRequest, text: string): { event: MadeEvent; id: string }[] {
  const answer = JSON.parse(text) as IntakeAnswer;
  const rejected = new Set((answer.rejected ?? []).map((r) => r.index));
  const ids = answer.ids ?? [];
  const out: { event: MadeEvent; id: string }[] = [];
  let next = 0;
  for (const [i, event] of request.events.entries()) {
    if (rejected.has(i)) continue;
    const id = ids[next];
    next += 1;
    if (typeof id === 'string') out.push({ event, id });
  }
  return out;
}
