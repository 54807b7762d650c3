// The event envelope `{ id, stream, time, data, source?, tenant? }` and its CloudEvents mapping.
// Web APIs only: the edge runs this same code on Deno and Bun.

import { z } from 'zod';
import { describeIssues } from '../zod-issues.ts';
import { MAX_DATE_MS } from './event-time.ts';

export const MAX_EVENT_ID_LENGTH = 128;
export const DEFAULT_TENANT = 'default';

const eventTime = z.union([
  z.iso.datetime({ offset: true, error: 'expected an RFC 3339 timestamp or epoch milliseconds' }),
  z.number().int().nonnegative().max(MAX_DATE_MS),
]);

export const envelopeSchema = z.object({
  id: z.string().min(1).max(MAX_EVENT_ID_LENGTH).optional(),
  stream: z.string().min(1).max(63),
  time: eventTime.optional(),
  data: z.custom<unknown>((value) => value !== undefined, { error: 'data is required' }),
  source: z.string().min(1).max(1024).optional(),
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
});

export type EnvelopeInput = z.output<typeof envelopeSchema>;

/** A required CloudEvents attribute, its absence named in both modes (a header in binary mode). */
const attribute = (name: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined
        ? `the CloudEvents attribute '${name}' is required (the ce-${name} header in binary mode)`
        : undefined,
  });

/**
 * CloudEvents 1.0 structured mode (JSON), and binary mode mapped onto it (cloudevents-binary.ts):
 * `type` names the stream, `tenant` is an extension attribute.
 */
export const cloudEventSchema = z.object({
  specversion: z.literal('1.0', { error: "CloudEvents specversion must be '1.0'" }),
  id: attribute('id').min(1).max(MAX_EVENT_ID_LENGTH),
  type: attribute('type').min(1).max(63),
  source: attribute('source').min(1).max(1024),
  time: eventTime.optional(),
  datacontenttype: z.string().optional(),
  data: z.custom<unknown>((value) => value !== undefined, {
    error: 'data is required (data_base64 is not supported)',
  }),
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
});

export function isCloudEvent(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'specversion' in value;
}

/** An accepted event, normalised: what ingest writes to Kafka and the processor reads back. */
export interface SluiceEvent {
  readonly id: string;
  readonly stream: string;
  readonly tenant: string;
  readonly source?: string;
  /** Event time, epoch milliseconds. */
  readonly time: number;
  /** When sluice first received it, epoch milliseconds. */
  readonly receivedAt: number;
  /** Group-by key (also the Kafka key). */
  readonly key: string;
  readonly data: Record<string, unknown>;
}

/** The Kafka record value: compact JSON with snake_case fields, stable across languages. */
export function encodeEvent(event: SluiceEvent): string {
  // JSON leaves out a property whose value is undefined: an event without a source has no
  // `source` key, without a spread per record (a copy of the object on Bun's profile).
  return JSON.stringify({
    id: event.id,
    stream: event.stream,
    tenant: event.tenant,
    source: event.source,
    time: event.time,
    received_at: event.receivedAt,
    key: event.key,
    data: event.data,
  });
}

const wireEventSchema = z.object({
  id: z.string().min(1).max(MAX_EVENT_ID_LENGTH),
  stream: z.string().min(1),
  tenant: z.string().min(1),
  source: z.string().optional(),
  // Times a Date can hold, so no later toISOString() throws on a record produced past intake.
  time: z.number().int().min(-MAX_DATE_MS).max(MAX_DATE_MS),
  received_at: z.number().int().min(-MAX_DATE_MS).max(MAX_DATE_MS),
  key: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const utf8 = new TextDecoder();

export type DecodeResult =
  | { ok: true; event: SluiceEvent }
  | { ok: false; reason: string; step: 'decode' | 'validate' };

// One schema per payload schema: the envelope and the payload checked in one zod pass (a second
// pass over `data` was a tenth of the processor's CPU). Built once, kept while the schema lives.
const withPayload = new WeakMap<z.ZodType<Record<string, unknown>>, z.ZodType<WireEvent>>();
/** A Kafka record value as JSON: the envelope, snake_case. */
export type WireEvent = z.output<typeof wireEventSchema>;

/**
 * A check that accepts only what the wire schema (with `payload`) accepts, and leaves the value as
 * the schema's output would be; cheaper than the zod pass. What it refuses goes through zod, which
 * stays the judge (and words the reason).
 */
export type WireCheck = (json: unknown) => json is WireEvent;

/** The schema of a Kafka record value: the envelope, with `data` checked against `payload`. */
export function wireSchemaFor(payload: z.ZodType<Record<string, unknown>> | undefined): z.ZodType<WireEvent> {
  if (payload === undefined) return wireEventSchema;
  let schema = withPayload.get(payload);
  if (schema === undefined) {
    schema = wireEventSchema.extend({ data: payload });
    withPayload.set(payload, schema);
  }
  return schema;
}

/**
 * Decodes a Kafka record value; a record that is not a sluice event is a reason, not a throw.
 * With `payload`, `data` must match it too: a mismatch there is schema drift (step `validate`),
 * anything else is not a sluice event (step `decode`). With `fast`, a value it accepts skips the
 * zod pass.
 */
export function decodeEvent(
  bytes: Uint8Array | string,
  payload?: z.ZodType<Record<string, unknown>>,
  fast?: WireCheck,
): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : utf8.decode(bytes));
  } catch {
    return { ok: false, reason: 'value is not JSON', step: 'decode' };
  }
  if (fast?.(json)) return { ok: true, event: fromWire(json) };
  const parsed = wireSchemaFor(payload).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const envelopeIssues = issues.filter((issue) => issue.path[0] !== 'data');
    if (envelopeIssues.length > 0 || payload === undefined)
      return {
        ok: false,
        reason: `not a sluice event: ${describeIssues(envelopeIssues.length > 0 ? envelopeIssues : issues)}`,
        step: 'decode',
      };
    return { ok: false, reason: describeIssues(issues), step: 'validate' };
  }
  return { ok: true, event: fromWire(parsed.data) };
}

function fromWire(w: WireEvent): SluiceEvent {
  const event = {
    id: w.id,
    stream: w.stream,
    tenant: w.tenant,
    time: w.time,
    receivedAt: w.received_at,
    key: w.key,
    data: w.data,
  };
  // A literal, not a spread of an optional part: on the processor's path, per event.
  return w.source === undefined ? event : { ...event, source: w.source };
}
