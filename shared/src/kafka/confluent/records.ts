// librdkafka's messages as the port's records and per-partition batches.

import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { IncomingRecord, RecordBatch } from '../port.ts';

export function headersOf(headers: readonly RdKafka.MessageHeader[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const header of headers)
    for (const [name, value] of Object.entries(header)) out[name] ??= value.toString();
  return out;
}

/** A librdkafka message as the port's record (also read by tools that consume a topic directly). */
export function toRecord(message: RdKafka.Message): IncomingRecord {
  const key = message.key;
  return {
    topic: message.topic,
    partition: message.partition,
    offset: BigInt(message.offset),
    key: key === undefined || key === null ? null : typeof key === 'string' ? Buffer.from(key) : key,
    value: message.value,
    headers: headersOf(message.headers),
    timestamp: message.timestamp ?? 0,
  };
}

/** Consecutive records of one partition, in offset order, as one batch per partition. */
export function batchesOf(messages: readonly RdKafka.Message[]): RecordBatch[] {
  const batches = new Map<string, IncomingRecord[]>();
  for (const message of messages) {
    const id = `${message.topic}\u0000${message.partition}`;
    const records = batches.get(id) ?? [];
    records.push(toRecord(message));
    batches.set(id, records);
  }
  return [...batches.values()].flatMap((records) => {
    const first = records[0];
    return first === undefined ? [] : [{ topic: first.topic, partition: first.partition, records }];
  });
}
