// The per-event size rule where it matters: an accepted event becomes one Kafka record, and the
// broker refuses a record batch past its `message.max.bytes` (default 1,048,588 bytes, 1 MiB +
// 12), a refusal no retry can cure. So the bound is on the encoded record itself (value, key and
// headers, as UTF-8), at most `maxRecordBytes`, which stays below the broker's limit by a margin
// for the batch and record framing and the headers the processor adds to a DLQ copy.

/** Bytes of value, key and headers per record; 48 KiB under the broker's default limit. */
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;

/**
 * Room above `maxRecordBytes` for what a record batch adds: the batch header (61 bytes), the
 * record's varints and attributes, and the reason/step/timestamp headers of a DLQ copy.
 */
export const RECORD_FRAMING_MARGIN = 48 * 1024;

/** The broker's default `message.max.bytes`: a topic created without the setting allows this. */
export const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** The `max.message.bytes` a topic needs for records of up to `maxRecordBytes`. */
export function topicMaxMessageBytes(maxRecordBytes: number): number {
  return Math.max(BROKER_DEFAULT_MAX_MESSAGE_BYTES, maxRecordBytes + RECORD_FRAMING_MARGIN);
}

/**
 * UTF-8 length of a string without encoding it. `limit` allows a shortcut: a UTF-16 unit is at
 * most three bytes, so a string whose bound is within the limit needs no exact count; then the
 * bound is returned (callers compare against `limit` only).
 */
export function utf8Length(text: string, limit = 0): number {
  if (text.length * 3 <= limit) return text.length * 3;
  let bytes = text.length;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair is one 4-byte code point (2 units: 2 more bytes); a lone one is U+FFFD (3).
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2;
        i += 1;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

export interface RecordParts {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Value, key and header names and values of a record, in UTF-8 bytes (upper bound below `limit`). */
export function recordBytes(record: RecordParts, limit: number): number {
  let headerBytes = 0;
  for (const [name, value] of Object.entries(record.headers))
    headerBytes += utf8Length(name) + utf8Length(value);
  const keyBytes = record.key === null ? 0 : utf8Length(record.key);
  // Exact once the cheap bound could pass the limit: the verdict never rests on an estimate.
  return utf8Length(record.value, limit - keyBytes - headerBytes) + keyBytes + headerBytes;
}
