// What the hostile suite got accepted, and how the pipeline accounted for it (guarantee 2): every
// id that got a 202 is counted exactly once, in a window (PostgreSQL), in `<stream>.late`
// (late-only events claim no id, so a copy there is counted by distinct id) or in `<stream>.dlq`.

import { KafkaJS } from '@confluentinc/kafka-javascript';
import type postgres from 'postgres';
import { readTopic } from '../../shared/test/kafka-read.ts';

/** Streams whose accounting is exact by one tumbling window's count (no hopping or session overlap). */
export const ACCOUNTED: Readonly<Record<string, { window: string; count: string }>> = {
  ecommerce: { window: '1m', count: 'count' },
  'sales-events': { window: '1h', count: 'sales' },
};

export class Ledger {
  /** stream -> `${tenant}\u0001${id}` -> key of the accepted event. */
  private readonly accepted = new Map<string, Map<string, string>>();
  /** Ids accepted twice under different keys (a client reusing an id): reported, never expected. */
  readonly conflicts: string[] = [];
  private readonly resent = new Map<string, Set<string>>();

  record(stream: string, tenant: string, id: string, key: string): void {
    let ids = this.accepted.get(stream);
    if (ids === undefined) {
      ids = new Map();
      this.accepted.set(stream, ids);
    }
    const slot = `${tenant}\u0001${id}`;
    const before = ids.get(slot);
    if (before !== undefined && before !== key) this.conflicts.push(`${stream} ${JSON.stringify(id)}`);
    ids.set(slot, key);
  }

  /**
   * A copy sent again may find its partition's watermark moved meanwhile (an event of another
   * request up to the stream's skew ahead): late-only events claim no id, so the copy goes to
   * `.late` although the first one counted. Such an id may be in a window and in `.late` both.
   */
  markResent(stream: string, tenant: string, id: string): void {
    let ids = this.resent.get(stream);
    if (ids === undefined) {
      ids = new Set();
      this.resent.set(stream, ids);
    }
    ids.add(`${tenant}\u0001${id}`);
  }

  wasResent(stream: string, tenant: string, id: string): boolean {
    return this.resent.get(stream)?.has(`${tenant}\u0001${id}`) ?? false;
  }

  count(stream: string): number {
    return this.accepted.get(stream)?.size ?? 0;
  }

  has(stream: string, tenant: string, id: string): boolean {
    return this.accepted.get(stream)?.has(`${tenant}\u0001${id}`) ?? false;
  }

  total(): number {
    let n = 0;
    for (const ids of this.accepted.values()) n += ids.size;
    return n;
  }
}

export interface Accounting {
  readonly stream: string;
  readonly accepted: number;
  readonly inWindows: number;
  readonly lateIds: number;
  readonly dlqIds: number;
  /** Late ids whose copy was sent twice: each may also be counted in a window (see markResent). */
  readonly lateResent: number;
  /** Late or DLQ records whose id no 202 gave (nothing the suite sent should be there). */
  readonly strangers: number;
}

export async function endOffsets(brokers: string[], topic: string): Promise<number> {
  const admin = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } }).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function distinctIds(brokers: string[], topic: string, ledger: Ledger, stream: string) {
  const total = await endOffsets(brokers, topic);
  if (total === 0) return { ids: 0, resent: 0, strangers: 0 };
  const records = await readTopic(brokers, topic, total, 30_000);
  const ids = new Set<string>();
  const resent = new Set<string>();
  let strangers = 0;
  for (const record of records) {
    try {
      const event = JSON.parse(record.value) as { id?: unknown; tenant?: unknown };
      const tenant = typeof event.tenant === 'string' ? event.tenant : 'default';
      const id = typeof event.id === 'string' ? event.id : '';
      if (ledger.has(stream, tenant, id)) ids.add(`${tenant}\u0001${id}`);
      else strangers += 1;
      if (ledger.wasResent(stream, tenant, id)) resent.add(`${tenant}\u0001${id}`);
    } catch {
      strangers += 1;
    }
  }
  return { ids: ids.size, resent: resent.size, strangers };
}

/** The stream's accounting as the pipeline holds it now. */
export async function account(
  sql: postgres.Sql,
  brokers: string[],
  topicPrefix: string,
  stream: string,
  ledger: Ledger,
): Promise<Accounting> {
  const spec = ACCOUNTED[stream];
  if (spec === undefined) throw new Error(`no accounting for ${stream}`);
  const [row] = await sql<{ n: string | null }[]>`
    SELECT sum((values ->> ${spec.count})::bigint) AS n FROM windows
    WHERE stream = ${stream} AND "window" = ${spec.window}`;
  const late = await distinctIds(brokers, `${topicPrefix}${stream}.late`, ledger, stream);
  const dlq = await distinctIds(brokers, `${topicPrefix}${stream}.dlq`, ledger, stream);
  return {
    stream,
    accepted: ledger.count(stream),
    inWindows: Number(row?.n ?? 0),
    lateIds: late.ids,
    dlqIds: dlq.ids,
    lateResent: late.resent,
    strangers: late.strangers + dlq.strangers,
  };
}

/**
 * Every accepted id is somewhere, and no id is counted twice: the only overlap allowed is a resent
 * copy in `.late` beside its counted first copy (windows themselves never count a copy: dedup).
 */
export const balanced = (a: Accounting) => {
  const found = a.inWindows + a.lateIds + a.dlqIds;
  return (
    a.inWindows <= a.accepted &&
    found >= a.accepted &&
    found - a.lateResent <= a.accepted &&
    a.strangers === 0
  );
};
