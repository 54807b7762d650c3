// Arbitrary events for the property tests that hold a compiled check to zod, its judge (the
// processor's record check and intake's): valid events with one field of the envelope or of
// `data` replaced, removed or added, strings around their length bounds (astral characters
// included), and times in every shape a sender might try.

import fc from 'fast-check';

/** A valid ecommerce payload: the `data` of the valid events the property tests mutate. */
export const ECOMMERCE_PAYLOAD = {
  transaction_id: 'e-1',
  user_id: 'user_309',
  product_category: 'Electronics',
  product_name: 'Monitor',
  amount: 702.03,
  timestamp: '2026-06-01T00:00:00.000Z',
  payment_method: 'debit_card',
};

/** Strings near a 128-unit bound, some with astral characters (two UTF-16 units, one code point). */
export const boundedString = fc.oneof(
  fc.string({ minLength: 0, maxLength: 3 }),
  // Short ones with astral characters: more UTF-16 units than code points near a small minimum;
  // and names a tenant rule or a stream lookup could take.
  fc.constantFrom('😀', '😀a', 'a😀', '😀😀', '😀😀😀', 'acme', 'default', 'ecommerce'),
  fc.string({ unit: 'grapheme', minLength: 60, maxLength: 70 }),
  fc.integer({ min: 120, max: 136 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 60, max: 68 }).map((n) => '😀'.repeat(n)),
  fc.integer({ min: 500, max: 520 }).map((n) => 'y'.repeat(n)),
);

export const timestamp = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  // Near the intake tests' receive time (2026-06-01), so some are within a stream's range.
  fc
    .date({ noInvalidDate: true, min: new Date('2026-05-01'), max: new Date('2026-06-02') })
    .map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '+02:00')),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '')),
  fc.constantFrom(
    '2026-02-30T00:00:00Z',
    '2026-06-01 00:00:00Z',
    '2026-06-01 00:00:00',
    '2026-06-01T24:00:00Z',
    'now',
  ),
  fc.integer({ min: -5, max: 4_102_444_800_000 }),
  fc.double(),
);

export const anyValue = fc.oneof(
  fc.jsonValue(),
  boundedString,
  timestamp,
  fc.dictionary(fc.string(), fc.jsonValue()),
);

/**
 * `valid` with one field of the envelope or of data replaced, removed, or one unknown key added (to
 * data or to the envelope); `extraEnvelopeKeys` are envelope fields `valid` leaves out but a sender
 * may set.
 */
export function mutated<T extends { data: Record<string, unknown> }>(
  valid: T,
  extraEnvelopeKeys: readonly string[] = [],
) {
  const envelopeKeys = [...Object.keys(valid).filter((k) => k !== 'data'), ...extraEnvelopeKeys];
  const dataKeys = Object.keys(valid.data);
  return fc.oneof(
    fc
      .record({ at: fc.constantFrom(...envelopeKeys, 'data'), value: anyValue })
      .map(({ at, value }) => ({ ...valid, [at]: value })),
    fc.record({ at: fc.constantFrom(...dataKeys), value: anyValue }).map(({ at, value }) => ({
      ...valid,
      data: { ...valid.data, [at]: value },
    })),
    fc.constantFrom(...envelopeKeys, ...dataKeys).map((gone) => {
      const without = (from: object) => Object.fromEntries(Object.entries(from).filter(([k]) => k !== gone));
      return dataKeys.includes(gone) ? { ...valid, data: without(valid.data) } : without(valid);
    }),
    fc.record({ name: fc.string(), value: fc.jsonValue() }).map(({ name, value }) => ({
      ...valid,
      data: { ...valid.data, [name]: value },
    })),
    fc
      .record({ name: fc.string(), value: fc.jsonValue() })
      .map(({ name, value }) => ({ [name]: value, ...valid })),
    fc.constantFrom(valid),
  );
}
