// Per-event verdicts: each item of a request is accepted (normalised into a SluiceEvent) or
// rejected with its index, id and every error found. One bad event never rejects its neighbours.

import type { StreamDefinition } from '../streams/define.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import type { FieldError } from '../zod-issues.ts';
import { fieldErrors } from '../zod-issues.ts';
import type { EnvelopeInput, SluiceEvent } from './envelope.ts';
import { cloudEventSchema, DEFAULT_TENANT, envelopeSchema, isCloudEvent } from './envelope.ts';
import type { TimeVerdict } from './event-time.ts';
import { DEFAULT_EVENT_TIME_POLICY, eventTimeOutOfRange, parseEventTime } from './event-time.ts';
import { checkedEnvelope } from './intake-fast-path.ts';
import { findUnstorableText } from './storable-text.ts';

export type EventError = FieldError;

export interface Rejection {
  readonly index: number;
  readonly id: string | null;
  readonly errors: readonly EventError[];
}

/** One item of a request body: its parsed JSON, or why its bytes were not JSON (an NDJSON line). */
export type RawItem =
  // bytes: its UTF-8 size, or an upper bound on it when even the bound is within the limit.
  // escapeFree: parsed from JSON text without a backslash, so it holds no NUL and no lone surrogate
  // (those come only from \u escapes in UTF-8 JSON: storable-text.ts), and needs no walk for them.
  | { readonly index: number; readonly value: unknown; readonly bytes: number; readonly escapeFree?: boolean }
  | { readonly index: number; readonly parseError: string };

/**
 * Whose tenant an event is written for (issue 21, item 3: the tenant comes from the key).
 * - `body`: as the event says, else 'default' (SLUICE_AUTH=off; and an `events:relay` caller, the
 *   edge, which already put its caller's key's tenant on every event it forwards).
 * - `key`: the key's; an event naming another tenant is refused (TENANT_REFUSED), one without
 *   gets the key's.
 */
export type TenantRule = { readonly from: 'body' } | { readonly from: 'key'; readonly tenant: string };

export const TENANT_FROM_BODY: TenantRule = { from: 'body' };

/** The error of an event naming a tenant other than its key's; whole requests of these are 403s. */
export const TENANT_REFUSED: EventError = {
  path: 'tenant',
  message: "the event's tenant is not the API key's tenant",
};

/** Whether a rejection is (also) for naming another tenant than the key's. */
export const refusedForTenant = (rejection: Rejection): boolean =>
  rejection.errors.some((e) => e.path === TENANT_REFUSED.path && e.message === TENANT_REFUSED.message);

export interface ValidateOptions {
  readonly registry: StreamRegistry;
  /** Whose tenant the events are; from the body when absent. */
  readonly tenant?: TenantRule;
  readonly now: number;
  readonly maxEventBytes: number;
  readonly maxDepth: number;
  readonly newId: () => string;
  /** A verified webhook delivery (webhooks/to-event.ts): may write to a `signedOnly` stream. */
  readonly signed?: boolean;
}

export type ItemVerdict =
  | { readonly ok: true; readonly event: SluiceEvent }
  | { readonly ok: false; readonly rejection: Rejection };

export interface Verdicts {
  readonly accepted: SluiceEvent[];
  /** Index in the request of each accepted event, in the same order as `accepted`. */
  readonly acceptedIndexes: number[];
  readonly rejected: Rejection[];
}

export function validateItems(items: readonly RawItem[], options: ValidateOptions): Verdicts {
  const verdicts: Verdicts = { accepted: [], acceptedIndexes: [], rejected: [] };
  for (const item of items) {
    const verdict = validateItem(item, options);
    if (verdict.ok) {
      verdicts.accepted.push(verdict.event);
      verdicts.acceptedIndexes.push(item.index);
    } else {
      verdicts.rejected.push(verdict.rejection);
    }
  }
  return verdicts;
}

export function validateItem(item: RawItem, options: ValidateOptions): ItemVerdict {
  const reject = (id: string | null, errors: EventError[]): ItemVerdict => ({
    ok: false,
    rejection: { index: item.index, id, errors },
  });
  if ('parseError' in item) return reject(null, [{ path: '(event)', message: item.parseError }]);
  const rawId = peekId(item.value);
  if (item.bytes > options.maxEventBytes) {
    return reject(rawId, [
      { path: '(event)', message: `event is ${item.bytes} bytes; the limit is ${options.maxEventBytes}` },
    ]);
  }
  if (depthExceeds(item.value, options.maxDepth)) {
    return reject(rawId, [
      { path: '(event)', message: `event nests deeper than ${options.maxDepth} levels` },
    ]);
  }

  // Guarantee 4: text a store cannot hold is refused here, in any field, before it is a key or a row.
  const unstorable = item.escapeFree === true ? null : findUnstorableText(item.value);
  if (unstorable !== null) return reject(rawId, [unstorable]);

  // The compiled check where it accepts the event whole (intake-fast-path.ts); zod otherwise, which
  // judges (and words) every refusal.
  const checked = checkedEnvelope(item.value, options.registry);
  const envelope =
    checked === undefined ? toEnvelope(item.value) : { ok: true as const, value: checked.envelope };
  if (!envelope.ok) return reject(rawId, envelope.errors);
  const rule = options.tenant ?? TENANT_FROM_BODY;
  // Checked before the payload: a spoofed tenant is refused whatever else the event holds.
  if (rule.from === 'key' && envelope.value.tenant !== undefined && envelope.value.tenant !== rule.tenant)
    return reject(envelope.value.id ?? rawId, [TENANT_REFUSED]);
  const tenant = rule.from === 'key' ? rule.tenant : (envelope.value.tenant ?? DEFAULT_TENANT);
  const stream = checked?.stream ?? options.registry.get(envelope.value.stream);
  if (stream === undefined) {
    return reject(rawId, [{ path: 'stream', message: `unknown stream '${envelope.value.stream}'` }]);
  }
  if (stream.signedOnly && options.signed !== true)
    return reject(rawId, [
      {
        path: 'stream',
        message: `stream '${stream.name}' takes signed webhook deliveries only (POST /v1/webhooks/{id})`,
      },
    ]);
  let data: Record<string, unknown>;
  if (checked !== undefined) data = checked.envelope.data;
  else {
    const payload = stream.schema.safeParse(envelope.value.data);
    if (!payload.success) return reject(rawId, fieldErrors(payload.error.issues, 'data', ['data']));
    data = payload.data;
  }
  const time = eventTime(stream, data, envelope.value, options.now);
  if (!time.verdict.ok) return reject(rawId, [{ path: time.path, message: time.verdict.message }]);
  // Guarantee 4: a time past the receive time plus the stream's skew would move the watermark.
  const outOfRange = eventTimeOutOfRange(time.verdict.ms, options.now, stream.eventTimePolicy);
  if (outOfRange !== null) return reject(rawId, [{ path: time.path, message: outOfRange }]);
  const id = envelope.value.id ?? idFromPayload(stream, data) ?? options.newId();
  return {
    ok: true,
    event: {
      id,
      stream: stream.name,
      tenant,
      ...(envelope.value.source === undefined ? {} : { source: envelope.value.source }),
      time: time.verdict.ms,
      receivedAt: options.now,
      key: groupKey(stream, data),
      data,
    },
  };
}

/**
 * The group-by key of a payload: the value itself for one field, a JSON array for several (`[]`
 * for none: every event of a keyless stream in one group, on one partition).
 */
export function groupKey(stream: StreamDefinition, data: Record<string, unknown>): string {
  const values = stream.keyBy.map((field) => data[field]);
  if (values.length === 1) return String(values[0]);
  return JSON.stringify(values);
}

function toEnvelope(
  value: unknown,
): { ok: true; value: EnvelopeInput } | { ok: false; errors: EventError[] } {
  if (isCloudEvent(value)) {
    const parsed = cloudEventSchema.safeParse(value);
    if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error.issues, '(event)') };
    const ce = parsed.data;
    return {
      ok: true,
      value: {
        id: ce.id,
        stream: ce.type,
        data: ce.data,
        source: ce.source,
        ...(ce.time === undefined ? {} : { time: ce.time }),
        ...(ce.tenant === undefined ? {} : { tenant: ce.tenant }),
      },
    };
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error.issues, '(event)') };
  return { ok: true, value: parsed.data };
}

/** The event time and the field it came from: the payload's time field, the envelope's, or now. */
function eventTime(
  stream: StreamDefinition,
  data: Record<string, unknown>,
  envelope: EnvelopeInput,
  now: number,
): { path: string; verdict: TimeVerdict } {
  if (stream.eventTime !== undefined) {
    const value = data[stream.eventTime];
    if (typeof value === 'string' || typeof value === 'number')
      return { path: `data.${stream.eventTime}`, verdict: parseEventTime(value, stream.eventTimePolicy) };
  }
  // The envelope's time is RFC 3339 or epoch ms whatever the stream's payload format.
  if (envelope.time !== undefined)
    return { path: 'time', verdict: parseEventTime(envelope.time, DEFAULT_EVENT_TIME_POLICY) };
  return { path: 'time', verdict: { ok: true, ms: now } };
}

function idFromPayload(stream: StreamDefinition, data: Record<string, unknown>): string | undefined {
  if (stream.idField === undefined) return undefined;
  const value = data[stream.idField];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function peekId(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || !('id' in value)) return null;
  const id = (value as { id: unknown }).id;
  return typeof id === 'string' ? id.slice(0, 128) : null;
}

/** Whether `value` holds an object or array at depth `maxDepth` or more (itself at 0). */
function depthExceeds(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (maxDepth <= 0) return true;
  // Recursive but bounded: it stops at maxDepth levels (32), so a hostile document cannot overflow
  // the stack here. No object per node, as a stack of {value, depth} took: on Bun this walk fell
  // from ~0.6 to ~0.25 µs an ecommerce event (issue 27).
  const children = Array.isArray(value) ? value : Object.values(value);
  for (let i = 0; i < children.length; i++) if (depthExceeds(children[i], maxDepth - 1)) return true;
  return false;
}
