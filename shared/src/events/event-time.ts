// Event time as a stream accepts it: the formats it reads, the zone of times written without one,
// and the range a time must fall in. Intake and the processor both judge with these functions, so
// a record produced past intake meets the same bounds. Web APIs only: the edge runs this code.
//
// INVARIANT (guarantee 4): no accepted event time lies outside [earliest, reference + max future
// skew], where the reference is the receive time at intake and the broker's record timestamp in
// the processor. So one event cannot move a partition's watermark past its receive time plus the
// allowed skew (Kafka brokers refuse record timestamps beyond `log.message.timestamp.after.max.ms`,
// 1 h, on the same reasoning), and every accepted time is one a `Date` can hold.

import { wallTimeToUtc } from '../time-zone.ts';

/** How clients may write an event time: RFC 3339 with an offset, epoch milliseconds, or a local
 *  date-time without a zone (`2025-11-29 20:04:32` or `2025-11-29T20:04:32`), read in the stream's
 *  `naiveTimeZone`. */
export type TimeFormat = 'rfc3339' | 'epoch_ms' | 'naive';

/** The largest magnitude of epoch milliseconds a `Date` can hold (ECMA-262 §21.4.1.1). */
export const MAX_DATE_MS = 8.64e15;

export interface EventTimePolicy {
  readonly formats: readonly TimeFormat[];
  /** IANA zone that times without an offset are read in. */
  readonly naiveTimeZone: string;
  /** How far past the reference time (receive time, record timestamp) an event time may lie. */
  readonly maxFutureSkewMs: number;
  /** The earliest event time accepted, epoch milliseconds. */
  readonly earliestMs: number;
}

export const DEFAULT_EVENT_TIME_POLICY: EventTimePolicy = {
  formats: ['rfc3339', 'epoch_ms'],
  naiveTimeZone: 'UTC',
  maxFutureSkewMs: 3_600_000,
  earliestMs: 0,
};

/** A date-time without a zone; the fraction is up to nanoseconds, read to the millisecond. */
export const NAIVE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
/** The same check as zod's `z.iso.datetime({ offset: true })`, which the schemas use. */
const HAS_OFFSET = /(?:[Zz]|[+-]\d{2}:?\d{2})$/;

export type TimeVerdict =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly message: string };

/** Reads an event time as the policy allows; a value it cannot read is a message, never a throw. */
export function parseEventTime(value: string | number, policy: EventTimePolicy): TimeVerdict {
  if (typeof value === 'number') {
    if (!policy.formats.includes('epoch_ms')) return refuse('epoch milliseconds are not accepted here');
    if (!Number.isSafeInteger(value) || Math.abs(value) > MAX_DATE_MS)
      return refuse('epoch milliseconds must be a whole number a date can hold');
    return { ok: true, ms: value };
  }
  const naive = NAIVE_TIME.exec(value);
  if (naive !== null) {
    if (!policy.formats.includes('naive'))
      return refuse('a time without a zone is not accepted here; add an offset (Z or +hh:mm)');
    return naiveToEpochMs(naive, policy.naiveTimeZone);
  }
  if (!policy.formats.includes('rfc3339') || !HAS_OFFSET.test(value))
    return refuse(`expected ${describeFormats(policy.formats)}`);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return refuse(`expected ${describeFormats(policy.formats)}`);
  return { ok: true, ms };
}

/**
 * Why `ms` is outside the policy's range for an event received (or recorded) at `referenceMs`,
 * or null when it is inside. Messages carry only normalised times, never the client's text.
 */
export function eventTimeOutOfRange(ms: number, referenceMs: number, policy: EventTimePolicy): string | null {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return 'event time is not a time a date can hold';
  if (ms < policy.earliestMs)
    return `event time ${iso(ms)} is before the earliest accepted, ${iso(policy.earliestMs)}`;
  const latest = referenceMs + policy.maxFutureSkewMs;
  if (ms > latest)
    return `event time ${iso(ms)} is more than ${formatSkew(policy.maxFutureSkewMs)} after the receive time ${iso(referenceMs)} (the stream's allowed clock skew)`;
  return null;
}

function naiveToEpochMs(match: RegExpExecArray, zone: string): TimeVerdict {
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(match[i] ?? '0')) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2025-02-30 over to March: a time whose fields do not come back is not a date.
  const back = new Date(wall);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  )
    return refuse('not a valid date and time');
  return { ok: true, ms: zone === 'UTC' ? wall : wallTimeToUtc(wall, zone) };
}

/** Throws on a zone the runtime does not know: for stream definitions, at start. */
export function assertTimeZone(zone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone: zone });
}

function describeFormats(formats: readonly TimeFormat[]): string {
  const names: Record<TimeFormat, string> = {
    rfc3339: 'an RFC 3339 timestamp with an offset',
    epoch_ms: 'epoch milliseconds',
    naive: 'a date and time without a zone',
  };
  return formats.map((f) => names[f]).join(' or ');
}

function formatSkew(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

const refuse = (message: string): TimeVerdict => ({ ok: false, message });
