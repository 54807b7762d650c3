// fast-check arbitraries of hostile events, each part carrying the verdict the contract gives it
// (issue 20, guarantees 4 and 5): `reject` must be a per-event 400, `accept` must be accepted,
// `either` is left to the implementation. Parts are made when a request is built (`make`), so ids
// are unique per run and times are relative to the clock at sending; the label names the part in
// a counterexample.

import fc from 'fast-check';

export type Verdict = 'accept' | 'reject' | 'either';

export interface MakeContext {
  /** Unique per event in the whole run: ids are built from it. */
  readonly seq: number;
  /** The clock when the request is built, epoch ms. */
  readonly now: number;
}

export interface Part {
  readonly label: string;
  readonly verdict: Verdict;
  readonly make: (ctx: MakeContext) => unknown;
}

/** Gives a generated value the short text fast-check prints for it in a counterexample. */
export function named<T extends object>(value: T, text: string): T {
  return Object.assign(value, { [fc.toStringMethod]: () => text });
}

const part = (label: string, verdict: Verdict, make: (ctx: MakeContext) => unknown): Part =>
  named({ label, verdict, make }, `${label} (${verdict})`);

/** A JSON number no JSON.stringify can write (1e999 parses to Infinity): spliced in as text. */
export const RAW_INFINITY = '__hostile_raw_1e999__';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** Valid future event times stay below this skew, so a workload at +55 min is never late. */
export const STORM_MAX_FUTURE_MS = 50 * MINUTE;

const UNICODE = [
  'é',
  'e\u0301',
  '中文',
  'مرحبا',
  '😀',
  '👨‍👩‍👧',
  '𝕏',
  '\u202e',
  '\ufeff',
  '\u00a0',
  'Ω≈ç√',
  '\u2028\u2029',
] as const;

/**
 * A text field of at most `max` UTF-16 units (zod's measure). `benign` makes the ordinary value;
 * when `unique`, the hostile variants keep the sequence number so an accepted one stays unique.
 */
export function textPart(
  max: number,
  benign: (ctx: MakeContext) => string,
  unique: boolean,
  hostile: boolean,
): fc.Arbitrary<Part> {
  const base = (ctx: MakeContext) => (unique ? benign(ctx) : 'v');
  if (!hostile) return fc.constant(part('benign', 'accept', benign));
  return fc.oneof(
    { weight: 24, arbitrary: fc.constant(part('benign', 'accept', benign)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        part('NUL', 'reject', (c) => `${base(c)}\u0000x`),
        part('lone high surrogate', 'reject', (c) => `${base(c)}\ud800`),
        part('lone low surrogate', 'reject', (c) => `\udc00${base(c)}`),
        part('reversed surrogate pair', 'reject', (c) => `${base(c)}\udc00\ud800`),
        part('10 KB string', 'reject', (c) => `${base(c)}${'x'.repeat(10_240)}`),
        part(`${max + 1} units`, 'reject', (c) => `${base(c)}-`.padEnd(max + 1, 'y')),
        part(`exactly ${max} units`, 'accept', (c) => `${base(c)}-`.padEnd(max, 'z')),
        part('empty string', 'reject', () => ''),
        part('control characters', 'accept', (c) => `${base(c)}\t\n\u0001\u001f\u007f`),
        part('noncharacters U+FFFE/U+FFFF', 'either', (c) => `${base(c)}\ufffe\uffff`),
        part('number', 'reject', () => 42),
        part('null', 'reject', () => null),
        part('object', 'reject', () => ({ nested: 'x' })),
        part('array', 'reject', () => ['x']),
        part('boolean', 'reject', () => true),
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...UNICODE)
        .map((u) => part(`unicode ${JSON.stringify(u)}`, 'accept', (c) => `${base(c)}-${u}`)),
    },
  );
}

/** An event-time field (ISO text or epoch ms). `pastLimitMs`: how far back a valid time goes. */
export function timePart(stream: string, pastLimitMs: number, hostile: boolean): fc.Arbitrary<Part> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const recent = fc
    .integer({ min: 0, max: 45_000 })
    .map((back) => part(`now - ${back} ms`, 'accept', (c) => iso(c.now - back)));
  if (!hostile) return recent;
  // The seed's producer (seed 004) sends naive times; ecommerce declares them UTC (issue 20 item 10).
  const naiveVerdict: Verdict = stream === 'ecommerce' ? 'accept' : 'either';
  return fc.oneof(
    { weight: 20, arbitrary: recent },
    {
      weight: 3,
      arbitrary: fc
        .integer({ min: 0, max: 45_000 })
        .map((back) => part(`epoch ms now - ${back}`, 'accept', (c) => c.now - back)),
    },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: MINUTE, max: STORM_MAX_FUTURE_MS })
        .map((ahead) => part(`now + ${ahead} ms (within the 1 h skew)`, 'accept', (c) => iso(c.now + ahead))),
    },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 10 * MINUTE, max: pastLimitMs })
        .map((back) => part(`now - ${back} ms (late)`, 'accept', (c) => iso(c.now - back))),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: HOUR + 2 * MINUTE, max: 400 * 24 * HOUR })
        .map((ahead) => part(`now + ${ahead} ms (beyond the 1 h skew)`, 'reject', (c) => iso(c.now + ahead))),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        part('naive "2025-11-29 20:04:32" (seed 004)', naiveVerdict, () => '2025-11-29 20:04:32'),
        part('naive ISO without zone', 'either', () => '2025-11-29T20:04:32'),
        part('offset +05:30', 'accept', (c) => iso(c.now).replace('Z', '+00:00')),
        part('nanosecond precision', 'either', (c) => iso(c.now).replace('Z', '123456Z')),
        part('year 9999', 'reject', () => '9999-12-31T23:59:59Z'),
        part('year 2200', 'reject', () => '2200-01-01T00:00:00Z'),
        part('9e15', 'reject', () => 9e15),
        part('8.64e15 (the last Date)', 'reject', () => 8.64e15),
        part('1e21', 'reject', () => 1e21),
        part('MAX_SAFE_INTEGER', 'reject', () => Number.MAX_SAFE_INTEGER),
        part('-1', 'reject', () => -1),
        part('-8.64e15', 'reject', () => -8.64e15),
        part('1.5 (fractional ms)', 'reject', () => 1.5),
        part('1e999 (Infinity)', 'reject', () => RAW_INFINITY),
        part('"NaN"', 'reject', () => 'NaN'),
        part('"Infinity"', 'reject', () => 'Infinity'),
        part('empty string', 'reject', () => ''),
        part('garbage text', 'reject', () => 'yesterday at noon'),
        part('month 13', 'reject', () => '2025-13-45T25:61:61Z'),
        part('+275760-09-13 (past the last Date)', 'reject', () => '+275760-09-13T00:00:01.000Z'),
        part('negative year', 'reject', () => '-000001-01-01T00:00:00Z'),
        part('February 30', 'either', () => '2025-02-30T00:00:00Z'),
        part('epoch 0', 'either', () => 0),
        part('year 1', 'either', () => '0001-01-01T00:00:00Z'),
        part('epoch ms as a string', 'either', (c) => String(c.now)),
        part('null', 'reject', () => null),
        part('object', 'reject', () => ({ t: 1 })),
      ),
    },
  );
}

/** A non-negative amount of at most 1e12 with cents. */
export function amountPart(hostile: boolean): fc.Arbitrary<Part> {
  const benign = fc
    .integer({ min: 1, max: 999_999 })
    .map((cents) => part(`${cents / 100}`, 'accept', () => cents / 100));
  if (!hostile) return benign;
  return fc.oneof(
    { weight: 24, arbitrary: benign },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        part('0', 'accept', () => 0),
        part('1e12 (the maximum)', 'accept', () => 1e12),
        part('1e-300', 'accept', () => 1e-300),
        part('5e-324', 'accept', () => 5e-324),
        part('-1', 'reject', () => -1),
        part('1e13', 'reject', () => 1e13),
        part('1e308', 'reject', () => 1e308),
        part('1e999 (Infinity)', 'reject', () => RAW_INFINITY),
        part('"12.5" (a string)', 'reject', () => '12.5'),
        part('null', 'reject', () => null),
        part('true', 'reject', () => true),
      ),
    },
  );
}

/** An extra, undeclared field in `data`: nesting, size and odd names. */
export function extraPart(hostile: boolean): fc.Arbitrary<Part | undefined> {
  if (!hostile) return fc.constant(undefined);
  return fc.oneof(
    { weight: 16, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 20 })
        .map((depth) => part(`extra nested ${depth} deep`, 'accept', () => nest(depth))),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 40, max: 3_000 })
        .map((depth) => part(`extra nested ${depth} deep (limit 32)`, 'reject', () => nest(depth))),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 40, max: 3_000 })
        .map((depth) => part(`extra arrays ${depth} deep (limit 32)`, 'reject', () => nestArrays(depth))),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        part('extra 10 KB string', 'either', () => 'x'.repeat(10_240)),
        part('extra string with NUL', 'either', () => 'a\u0000b'),
        part('extra lone surrogate', 'either', () => '\ud800'),
        part('extra 5,000-key object', 'either', () =>
          Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])),
        ),
      ),
    },
  );
}

function nest(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function nestArrays(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A change to the envelope around `data`. */
export interface EnvelopeMutation {
  readonly label: string;
  readonly verdict: Verdict;
  readonly apply: (envelope: Record<string, unknown>, ctx: MakeContext) => unknown;
}

const mutation = (
  label: string,
  verdict: Verdict,
  apply: (envelope: Record<string, unknown>, ctx: MakeContext) => unknown,
): EnvelopeMutation => named({ label, verdict, apply }, `envelope: ${label} (${verdict})`);

const without = (envelope: Record<string, unknown>, field: string) =>
  Object.fromEntries(Object.entries(envelope).filter(([k]) => k !== field));

export function envelopeMutation(hostile: boolean): fc.Arbitrary<EnvelopeMutation> {
  const none = fc.constant(mutation('none', 'accept', (e) => e));
  if (!hostile) return none;
  return fc.oneof(
    { weight: 30, arbitrary: none },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        mutation('no data', 'reject', (e) => without(e, 'data')),
        mutation('data null', 'reject', (e) => ({ ...e, data: null })),
        mutation('data an array', 'reject', (e) => ({ ...e, data: [e.data] })),
        mutation('data a string', 'reject', (e) => ({ ...e, data: JSON.stringify(e.data) })),
        mutation('unknown stream', 'reject', (e) => ({ ...e, stream: 'nope', type: 'nope' })),
        mutation('empty stream', 'reject', (e) => ({ ...e, stream: '', type: '' })),
        mutation('stream with NUL', 'reject', (e) => ({
          ...e,
          stream: 'ecommerce\u0000',
          type: 'ecommerce\u0000',
        })),
        mutation('stream a number', 'reject', (e) => ({ ...e, stream: 5, type: 5 })),
        mutation('stream of 64 characters', 'reject', (e) => ({
          ...e,
          stream: 's'.repeat(64),
          type: 's'.repeat(64),
        })),
        mutation('tenant with a space', 'reject', (e) => ({ ...e, tenant: 'bad tenant' })),
        mutation('tenant of 65 characters', 'reject', (e) => ({ ...e, tenant: 't'.repeat(65) })),
        mutation('tenant with NUL', 'reject', (e) => ({ ...e, tenant: 'a\u0000' })),
        mutation('tenant "acme"', 'either', (e) => ({ ...e, tenant: 'acme' })),
        mutation('source "/ok"', 'accept', (e) => ({ ...e, source: '/ok' })),
        mutation('source of 1,025 characters', 'reject', (e) => ({ ...e, source: 's'.repeat(1_025) })),
        mutation('source with NUL', 'reject', (e) => ({ ...e, source: '/a\u0000b' })),
        mutation('source with a lone surrogate', 'reject', (e) => ({ ...e, source: '/a\ud800' })),
        mutation('envelope time 9e15', 'reject', (e) => ({ ...e, time: 9e15 })),
        mutation('envelope time -5', 'reject', (e) => ({ ...e, time: -5 })),
        mutation('envelope time garbage', 'reject', (e) => ({ ...e, time: 'garbage' })),
        mutation('envelope time year 9999', 'either', (e) => ({ ...e, time: '9999-12-31T23:59:59Z' })),
        mutation('unknown envelope field', 'accept', (e) => ({ ...e, extra_field: { a: 1 } })),
        mutation('__proto__ field', 'either', (e) =>
          JSON.parse(`{"__proto__":{"polluted":1},${JSON.stringify(e).slice(1)}`),
        ),
        mutation('the event is null', 'reject', () => null),
        mutation('the event is a number', 'reject', () => 42),
        mutation('the event is a string', 'reject', () => 'event'),
        mutation('the event is an empty array', 'reject', () => []),
        mutation('CloudEvents specversion 0.3', 'reject', (e) => ({ ...e, specversion: '0.3' })),
      ),
    },
  );
}

export type StreamName = 'ecommerce' | 'sales-events' | 'equipment-metrics' | 'inventory-updates';

/** One generated event: its stream, the parts of its payload, its id and the envelope change. */
export interface EventSpec {
  readonly stream: StreamName;
  /** Payload fields by name; the id field and the key field among them. */
  readonly fields: Readonly<Record<string, Part>>;
  /** Where the id travels: in the envelope (`id`), or only in the payload's id field. */
  readonly idInEnvelope: boolean;
  readonly extra: Part | undefined;
  readonly envelope: EnvelopeMutation;
}

const benignId = (prefix: string) => (c: MakeContext) => `${prefix}${c.seq}`;
const fixed = (label: string, value: unknown): fc.Arbitrary<Part> =>
  fc.constant(part(label, 'accept', () => value));

/** Which parts of an event may be hostile (the rest stay benign): one family of the suite each. */
export interface Focus {
  readonly text: boolean;
  readonly time: boolean;
  readonly envelope: boolean;
}

export const EVERYTHING: Focus = { text: true, time: true, envelope: true };
export const NOTHING: Focus = { text: false, time: false, envelope: false };

export const CATEGORIES = ['Electronics', 'Clothing', 'Home & Garden', 'Books', 'Sports', 'Beauty'];

export function eventSpec(focus: Focus): fc.Arbitrary<EventSpec> {
  const specOf = (stream: StreamName, fields: Record<string, fc.Arbitrary<Part>>): fc.Arbitrary<EventSpec> =>
    fc
      .record({
        fields: fc.record(fields),
        idInEnvelope: fc.boolean(),
        extra: extraPart(focus.envelope),
        envelope: envelopeMutation(focus.envelope),
      })
      .map((r) => ({ stream, ...r }));
  const text = (max: number, benign: (ctx: MakeContext) => string, unique = false) =>
    textPart(max, benign, unique, focus.text);
  const time = (stream: StreamName) => timePart(stream, 40 * HOUR, focus.time);
  const category = fc.constantFrom(...CATEGORIES).map((k) => part(k, 'accept', () => k));
  const ecommerce = specOf('ecommerce', {
    transaction_id: text(128, benignId('tx-'), true),
    user_id: text(128, (c) => `user_${c.seq % 500}`),
    product_category: focus.text
      ? fc.oneof(
          { weight: 6, arbitrary: category },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              part('key with | and %7C', 'accept', () => 'A|B%7C'),
              part('key with = and ,', 'accept', () => 'k=v,w'),
              part('NUL key "Sp\\u0000orts"', 'reject', () => 'Sp\u0000orts'),
            ),
          },
          { weight: 1, arbitrary: text(128, () => 'Books') },
        )
      : category,
    product_name: text(512, () => 'Novel'),
    amount: amountPart(focus.envelope),
    timestamp: time('ecommerce'),
    payment_method: text(64, () => 'paypal'),
  });
  const sales = specOf('sales-events', {
    sale_id: text(128, benignId('sale-'), true),
    store_id: text(128, (c) => `store-${c.seq % 7}`),
    product: fixed('croissant', 'croissant'),
    quantity: fc.integer({ min: 0, max: 50 }).map((q) => part(`${q}`, 'accept', () => q)),
    unit_price: fixed('2.5', 2.5),
    total: fixed('5', 5),
    channel: fixed('till', 'till'),
    timestamp: time('sales-events'),
  });
  const equipment = specOf('equipment-metrics', {
    reading_id: text(128, benignId('reading-'), true),
    equipment_id: text(128, (c) => `oven-${c.seq % 5}`),
    metric: fixed('temperature', 'temperature'),
    value: fc.integer({ min: 0, max: 300 }).map((v) => part(`${v}`, 'accept', () => v)),
    timestamp: time('equipment-metrics'),
  });
  const inventory = specOf('inventory-updates', {
    update_id: text(128, benignId('update-'), true),
    store_id: text(128, (c) => `store-${c.seq % 7}`),
    product: text(128, () => 'flour'),
    change: fixed('-3', -3),
    stock_after: fixed('40', 40),
    reason: fixed('sale', 'sale'),
    timestamp: time('inventory-updates'),
  });
  return fc.oneof(
    { weight: 6, arbitrary: ecommerce },
    { weight: 2, arbitrary: sales },
    { weight: 1, arbitrary: equipment },
    { weight: 1, arbitrary: inventory },
  );
}

export const ID_FIELD: Record<StreamName, string> = {
  ecommerce: 'transaction_id',
  'sales-events': 'sale_id',
  'equipment-metrics': 'reading_id',
  'inventory-updates': 'update_id',
};

/** An event as sent, with what the contract says of it. */
export interface MadeEvent {
  readonly value: unknown;
  readonly verdict: Verdict;
  /** The labels of its hostile parts (what a counterexample names). */
  readonly labels: readonly string[];
  readonly stream: StreamName;
  /** The id it must be accepted under (envelope id, else the payload's id field). */
  readonly id: unknown;
  readonly tenant: string;
  /** Every time part is one a resend finds on time (so a copy is a duplicate, never late-only). */
  readonly recent: boolean;
}

export function combine(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes('reject')) return 'reject';
  if (verdicts.includes('either')) return 'either';
  return 'accept';
}

/** Builds the event's JSON value in the envelope form or as a CloudEvent. */
export function makeEvent(spec: EventSpec, ctx: MakeContext, cloudEvent: boolean): MadeEvent {
  const data: Record<string, unknown> = {};
  const parts: Part[] = [];
  for (const [name, p] of Object.entries(spec.fields)) {
    data[name] = p.make(ctx);
    parts.push(p);
  }
  if (spec.extra !== undefined) {
    data.extra = spec.extra.make(ctx);
    parts.push(spec.extra);
  }
  const id = data[ID_FIELD[spec.stream]];
  const base: Record<string, unknown> = cloudEvent
    ? { specversion: '1.0', id, type: spec.stream, source: '/hostile', data }
    : { ...(spec.idInEnvelope ? { id } : {}), stream: spec.stream, data };
  const value = spec.envelope.apply(base, ctx);
  const labels = [
    ...parts.filter(
      (p) => p.verdict !== 'accept' || /^(unicode|naive|offset|exactly|control|key with|0$|1e)/.test(p.label),
    ),
    spec.envelope,
  ]
    .map((p) => p.label)
    .filter((l) => l !== 'none' && l !== 'benign');
  const tenant =
    typeof value === 'object' && value !== null && 'tenant' in value && typeof value.tenant === 'string'
      ? value.tenant
      : 'default';
  const time = spec.fields.timestamp?.label ?? '';
  return {
    value,
    verdict: combine([...parts.map((p) => p.verdict), spec.envelope.verdict]),
    labels,
    stream: spec.stream,
    id,
    tenant,
    recent:
      /^(now - |epoch ms now - |now \+ )/.test(time) && !time.includes('beyond') && !time.includes('late'),
  };
}

/** JSON text of a value, with the 1e999 sentinel written as the number it stands for. */
export function toJson(value: unknown): string {
  return JSON.stringify(value).replaceAll(`"${RAW_INFINITY}"`, '1e999');
}
