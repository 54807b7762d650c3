// The first step for every record: decode the Kafka value and check it against its stream's
// schema. The outcome is data (STYLE #7): ok, or dlq with a reason; never a throw.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { decodeEvent } from '@sluice/shared/events/envelope';
import { eventTimeOutOfRange } from '@sluice/shared/events/event-time';
import { findUnstorableText, mayHoldUnstorableText } from '@sluice/shared/events/storable-text';
import type { IncomingRecord, OutgoingRecord } from '@sluice/shared/kafka/port';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { fastCheckFor } from './decode-fast-path.ts';

export type RecordOutcome =
  /** Decoded and valid; `brokenRule` names the first of the stream's business rules it breaks. */
  | { readonly kind: 'ok'; readonly event: SluiceEvent; readonly brokenRule?: string }
  | { readonly kind: 'dlq'; readonly step: 'decode' | 'validate'; readonly reason: string };

export function checkRecord(record: IncomingRecord, stream: StreamDefinition): RecordOutcome {
  if (record.value === null) return { kind: 'dlq', step: 'decode', reason: 'record has no value' };
  // Schema drift: a producer other than ingest, or an older schema, must not poison a window.
  // The envelope and the stream's payload schema are checked in one pass (a compiled fast check
  // where it says exactly what the schema says; zod otherwise, and for every refusal).
  const decoded = decodeEvent(record.value, stream.schema, fastCheckFor(stream.schema));
  if (!decoded.ok) {
    if (decoded.step === 'decode') return { kind: 'dlq', step: 'decode', reason: decoded.reason };
    return {
      kind: 'dlq',
      step: 'validate',
      reason: `payload does not match the ${stream.name} schema: ${decoded.reason}`,
    };
  }
  const event = decoded.event;
  if (event.stream !== stream.name) {
    return {
      kind: 'dlq',
      step: 'validate',
      reason: `event names stream '${event.stream}' but arrived on '${stream.name}'`,
    };
  }
  // Guarantee 4, for records that did not come through intake: the same bounds intake applies.
  // The reference is the broker's record timestamp (Kafka refuses one more than
  // `log.message.timestamp.after.max.ms` ahead of the broker's clock), never the record's own
  // received_at, which its producer chose; so a replay judges a record as the first read did.
  const reference = record.timestamp > 0 ? record.timestamp : event.receivedAt;
  const outOfRange = eventTimeOutOfRange(event.time, reference, stream.eventTimePolicy);
  if (outOfRange !== null) return { kind: 'dlq', step: 'validate', reason: outOfRange };
  if (mayHoldUnstorableText(record.value)) {
    const { id, tenant, source, key, data } = event;
    const unstorable = findUnstorableText({ id, tenant, source, key, data });
    if (unstorable !== null)
      return { kind: 'dlq', step: 'validate', reason: `${unstorable.path}: ${unstorable.message}` };
  }
  // Data quality: a broken business rule does not make a dead letter of the record's decoding; the
  // event still belongs to its windows, where it is counted as rejected (and it goes to the DLQ).
  for (const rule of stream.rules)
    if (!rule.check(event.data)) return { kind: 'ok', event, brokenRule: rule.name };
  return { kind: 'ok', event };
}

const decoder = new TextDecoder();

/** The record's key as the text it was produced from, or null. */
export function keyText(record: IncomingRecord): string | null {
  return record.key === null ? null : decoder.decode(record.key);
}

/**
 * A record derived from `record` for another topic (a dead letter, a late event): the original key,
 * bytes and headers, where it came from, and `extra` headers saying why.
 */
export function derivedRecord(
  record: IncomingRecord,
  topic: string,
  extra: Readonly<Record<string, string>>,
): OutgoingRecord {
  return {
    topic,
    key: keyText(record),
    value: record.value ?? '',
    headers: {
      ...record.headers,
      ...extra,
      'sluice-source-topic': record.topic,
      'sluice-source-partition': String(record.partition),
      'sluice-source-offset': record.offset.toString(),
    },
  };
}

/** STYLE #7: a dead letter is the original key and bytes plus reason, step and time headers. */
export function deadLetter(
  record: IncomingRecord,
  topic: string,
  step: string,
  reason: string,
  now: number,
): OutgoingRecord {
  return derivedRecord(record, topic, {
    'sluice-dlq-reason': reason.slice(0, 1000),
    'sluice-dlq-step': step,
    'sluice-dlq-timestamp': new Date(now).toISOString(),
  });
}
