// `./sluice replay late --stream S`: re-injects what landed in `<stream>.late` into the stream's
// topic as a backfill (guarantee 3: late events are kept and can still count). Each replayed record
// keeps its key, bytes and headers, drops the late-routing ones, and carries `sluice-backfill`,
// which lets the processor amend windows however old. Offsets of the late topic are committed in
// the replay's own consumer group only after Kafka acknowledged the backfill, so a second run
// replays only what arrived since; a replay killed between the two may resend a batch, which the
// event ids make recognisable.

import type {
  IncomingRecord,
  KafkaConsumer,
  KafkaProducer,
  OutgoingRecord,
  RecordBatch,
} from '@sluice/shared/kafka/port';
import type { TopicNames } from '@sluice/shared/streams/registry';
import { keyText } from '../stages/outbound.ts';
import { BACKFILL_HEADER } from '../stages/place.ts';

export interface ReplayDeps {
  readonly consumer: KafkaConsumer;
  readonly producer: KafkaProducer;
  readonly topics: TopicNames;
  /** The replay ends after this long without a record (the late topic is drained). */
  readonly idleMs: number;
  /** And in any case after this long. */
  readonly maxMs: number;
}

export function backfillRecord(record: IncomingRecord, topics: TopicNames): OutgoingRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers))
    if (!name.startsWith('sluice-late-') && !name.startsWith('sluice-source-')) headers[name] = value;
  headers[BACKFILL_HEADER] = 'late';
  headers['sluice-replayed-from'] = `${record.topic}/${record.partition}/${record.offset}`;
  return {
    topic: topics.events,
    key: keyText(record),
    value: record.value ?? '',
    headers,
  };
}

export async function replayLate(
  deps: ReplayDeps,
): Promise<{ replayed: number; uncommittedBatches: number }> {
  let replayed = 0;
  let lastActivity = Date.now();
  let joined = false;
  let inFlight = 0;
  const commits: Promise<void>[] = [];
  const started = Date.now();
  const replayBatch = async (batch: RecordBatch) => {
    const sent = await deps.producer.send(batch.records.map((r) => backfillRecord(r, deps.topics)));
    // Not acknowledged: the batch is delivered again (port contract); nothing is skipped.
    if (!sent.ok) throw new Error(`backfill not acknowledged: ${sent.error.message}`);
    const last = batch.records.at(-1);
    // NOTE: not awaited here: the coordinator's answer is served by the poll loop, which waits for
    // this batch. The replay waits for its commits before it closes.
    if (last !== undefined)
      commits.push(
        deps.consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1n }]),
      );
    replayed += batch.records.length;
  };
  await deps.consumer.run({
    // Idleness counts from the moment the group gave this replay its partitions, not from start.
    onAssigned: () => {
      joined = true;
      lastActivity = Date.now();
    },
    onBatch: async (batch) => {
      inFlight += 1;
      try {
        await replayBatch(batch);
      } finally {
        inFlight -= 1;
        lastActivity = Date.now();
      }
    },
  });
  while (
    (!joined || inFlight > 0 || Date.now() - lastActivity < deps.idleMs) &&
    Date.now() - started < deps.maxMs
  )
    await new Promise((resolve) => setTimeout(resolve, 100));
  // A commit that failed leaves its records to the next run (they are replayed again then).
  const failed = (await Promise.allSettled(commits)).filter((c) => c.status === 'rejected').length;
  await deps.consumer.close();
  await deps.producer.close();
  return { replayed, uncommittedBatches: failed };
}
