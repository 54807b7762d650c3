// What a batch sends before it commits (guarantee 4: nothing is lost): dead letters and late events,
// each the original record's key, bytes and headers plus headers saying why and where it came from.
// Kafka acknowledges them before the batch's offset moves past their records (commit-protocol.ts).

import type { IncomingRecord, OutgoingRecord } from '@sluice/shared/kafka/port';

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

/** A late event for `<stream>.late`: the windows it was too late for, and the watermark then. */
export function lateRecord(
  record: IncomingRecord,
  topic: string,
  windowStarts: readonly number[],
  watermark: number | null,
  now: number,
): OutgoingRecord {
  return derivedRecord(record, topic, {
    'sluice-late-reason': 'beyond-allowed-lateness',
    'sluice-late-windows': windowStarts.map((s) => new Date(s).toISOString()).join(','),
    'sluice-late-watermark': watermark === null ? '' : new Date(watermark).toISOString(),
    'sluice-late-timestamp': new Date(now).toISOString(),
  });
}
