// Stage 1 of a batch (see processor/README.md): decode each Kafka value and check it against its
// stream's schema. The outcome is data (STYLE #7), never a throw: ok; rejected (valid, but it breaks
// one of the stream's business rules: counted as rejected in its windows and kept in the DLQ); or
// dlq with a reason. Late and duplicate are later stages' words for an ok or rejected event, as data
// too: the windows it is too late for (place.ts: `lateFor`) and its id's claim (load.ts: `firsts`),
// which the plan (plan.ts) turns into late records and duplicate counts.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import { decodeEvent } from '@sluice/shared/events/envelope';
import { eventTimeOutOfRange } from '@sluice/shared/events/event-time';
import { findUnstorableText, mayHoldUnstorableText } from '@sluice/shared/events/storable-text';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { Isolated } from '../commit/isolate.ts';
import type { PartitionState } from '../partition-state.ts';
import { fastCheckFor } from './decode-fast-path.ts';

export type RecordOutcome =
  /** Decoded, valid, and within every business rule of its stream. */
  | { readonly kind: 'ok'; readonly event: SluiceEvent }
  /** Decoded and valid, but `rule` is the first of the stream's business rules it breaks. */
  | { readonly kind: 'rejected'; readonly event: SluiceEvent; readonly rule: string }
  | { readonly kind: 'dlq'; readonly step: 'decode' | 'validate'; readonly reason: string };

/** The business rule a decoded event breaks, if any. */
export const brokenRuleOf = (outcome: Exclude<RecordOutcome, { kind: 'dlq' }>): string | undefined =>
  outcome.kind === 'rejected' ? outcome.rule : undefined;

/** A record's outcome: the check's, or a dead letter the stores refused (commit/isolate.ts). */
export type Outcome =
  | RecordOutcome
  | { readonly kind: 'dlq'; readonly step: Isolated['step']; readonly reason: string };

/** A record of the batch past the committed offset, with its outcome. */
export interface Fresh {
  readonly record: IncomingRecord;
  readonly outcome: Outcome;
}

export interface DecodedBatch {
  /** In offset order; never empty. */
  readonly fresh: readonly Fresh[];
  /** Records below the committed offset: already in PostgreSQL, skipped. */
  readonly skipped: number;
}

/**
 * Every record of a batch past the committed offset, with its outcome; null when none is (a batch
 * delivered again after its commit). `refused` names records a store refused for their data.
 */
export function decodeBatch(
  state: PartitionState,
  records: readonly IncomingRecord[],
  refused?: ReadonlyMap<bigint, Isolated>,
): DecodedBatch | null {
  const fresh: Fresh[] = [];
  let skipped = 0;
  // Indexed loops on the per-event paths: for-of over these arrays kept its iterators alive (a
  // tenth of planning's garbage, measured).
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === undefined) continue;
    // INVARIANT (guarantee 2): offsets below the committed one are already in PostgreSQL.
    if (state.nextOffset !== null && record.offset < state.nextOffset) {
      skipped += 1;
      continue;
    }
    const isolated = refused?.get(record.offset);
    const outcome: Outcome =
      isolated === undefined ? checkRecord(record, state.stream) : { kind: 'dlq', ...isolated };
    fresh.push({ record, outcome });
  }
  return fresh.length === 0 ? null : { fresh, skipped };
}

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
    if (!rule.check(event.data)) return { kind: 'rejected', event, rule: rule.name };
  return { kind: 'ok', event };
}
