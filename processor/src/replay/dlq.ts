// `./sluice dlq replay --stream S`: what to do with each dead letter of `<stream>.dlq` once the
// stream's definition changed (a schema fix). Pure: the Kafka side is tools/dlq.ts.
//
// Guarantees kept:
// - Guarantee 4 (nothing lost): a dead letter that still fails stays where it is, reported with
//   the reason it fails for now; nothing is deleted or rewritten in the DLQ.
// - Exactly once (guarantee 2) for what a replay re-injects, by two means:
//   1. A replay position per DLQ partition (committed in the replay's own consumer group once
//      Kafka acknowledged the re-injected records): every dead letter below it is done (re-injected,
//      or not replayable by its kind), so a later run never reads it again. The position stops at
//      the first dead letter that is not done (one that still fails), so a later fix can still
//      replay that one.
//   2. Past the position, a run may meet dead letters an earlier run re-injected (they followed one
//      that still failed). The re-injected copy keeps the event's bytes (id, tenant, key, event
//      time), so the processor's dedup by event id takes it as a copy and counts nothing, as long
//      as the first copy's claim lives: one dedup horizon after it was claimed, which was after the
//      dead letter was written. The commit records exactly which offsets were re-injected
//      (dlq-record.ts: `seen`, one past the highest, and the holes below it that were not),
//      written before sending (write-ahead). A dead letter a replay re-injected (`again`) and that
//      is older than the horizon (less a margin) is not re-sent (its first copy's claim may be
//      gone, and the copy would count twice) and is done: its copy was sent.
// - A first replay counts once too: a dead letter older than the horizon (less the margin) may have
//   been re-sent by its client meanwhile, successfully, with a claim that is gone by now, so its
//   copy could count twice. It is refused (`beyond-horizon`) unless the operator says otherwise
//   (--force: they know the client did not re-send it); not done, so a forced run can still take it.
// - Bounded runs that still progress: a run reads at most --limit dead letters. One that stops at
//   its limit leaves a cursor (in the same commit), and the next run reads on from there; once a
//   run reaches the end, the next starts at the position again. So a dead letter that still fails
//   near the position neither blocks the ones behind it nor escapes being judged again.
// - Tenants: a record is re-injected byte for byte, so its tenant (which ingest took from the
//   writer's key) is the one it was written with; `--tenant T` narrows a run to T's dead letters,
//   and one whose tenant cannot be read is in no tenant's run.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { IncomingRecord, OutgoingRecord } from '@sluice/shared/kafka/port';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { TopicNames } from '@sluice/shared/streams/registry';
import { brokenRuleOf, checkRecord } from '../stages/decode.ts';
import { keyText } from '../stages/outbound.ts';
import { BACKFILL_HEADER } from '../stages/place.ts';
import type { Holes } from './dlq-record.ts';
import { wasSent } from './dlq-record.ts';

/** Steps whose refusal a change of the stream's definition can cure: the record check's. */
const REPLAYABLE_STEPS: ReadonlySet<string> = new Set(['decode', 'validate']);

/**
 * Steps whose dead letters a replay leaves alone. `quality`: the event broke a business rule and
 * was counted in its windows as rejected when it was read; a copy would count it again. `sink`,
 * `state`, `dedup`: a store refused the record's data; the failed attempts claimed its event id
 * with its first offset, so a copy would be taken as a duplicate and silently count nothing.
 */
const KEPT_STEPS: Readonly<Record<string, string>> = {
  quality: 'broke a business rule and was counted as rejected when read',
  sink: 'refused by PostgreSQL for its data',
  state: 'refused by Redis (window state) for its data',
  dedup: 'refused by Redis (dedup claims) for its data',
};

/** Margin kept before the dedup horizon's end: the copy must be claimed while the first claim lives. */
export const HORIZON_MARGIN_MS = 10 * 60_000;

/** A dead letter as read from `<stream>.dlq`: the record and what its headers and value say. */
export interface DeadLetter {
  readonly record: IncomingRecord;
  readonly step: string;
  readonly reason: string;
  /** When it was dead-lettered (its header, else the record's timestamp), epoch ms. */
  readonly at: number;
  readonly tenant: string | undefined;
  readonly id: string | undefined;
  /** Where the processor read it: `topic/partition/offset`, when the headers say. */
  readonly source: string | undefined;
}

const decoder = new TextDecoder();

/** Reads a DLQ record; what it cannot read is left undefined (a dead letter may be any bytes). */
export function readDeadLetter(record: IncomingRecord): DeadLetter {
  const h = record.headers;
  const stamped = Date.parse(h['sluice-dlq-timestamp'] ?? '');
  let tenant: string | undefined;
  let id: string | undefined;
  if (record.value !== null) {
    try {
      const json: unknown = JSON.parse(decoder.decode(record.value));
      if (typeof json === 'object' && json !== null) {
        const fields = json as Record<string, unknown>;
        if (typeof fields.tenant === 'string') tenant = fields.tenant;
        if (typeof fields.id === 'string') id = fields.id;
      }
    } catch {
      // Not JSON: a decode dead letter; neither tenant nor id is known.
    }
  }
  const sourceTopic = h['sluice-source-topic'];
  return {
    record,
    step: h['sluice-dlq-step'] ?? 'unknown',
    reason: h['sluice-dlq-reason'] ?? '',
    at: Number.isFinite(stamped) ? stamped : record.timestamp,
    tenant,
    id,
    source:
      sourceTopic === undefined
        ? undefined
        : `${sourceTopic}/${h['sluice-source-partition'] ?? '?'}/${h['sluice-source-offset'] ?? '?'}`,
  };
}

/** The record a replay writes for `dead`: its key and bytes, as a backfill, without DLQ headers. */
export function replayedRecord(dead: IncomingRecord, topics: TopicNames): OutgoingRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(dead.headers))
    if (!name.startsWith('sluice-dlq-') && !name.startsWith('sluice-source-')) headers[name] = value;
  // A backfill, as `./sluice replay late` writes: by the time a schema is fixed, the event's
  // windows may be settled or past the allowed lateness; it amends them and moves no watermark.
  headers[BACKFILL_HEADER] = 'dlq';
  headers['sluice-replayed-from'] = `${dead.topic}/${dead.partition}/${dead.offset}`;
  return { topic: topics.events, key: keyText(dead), value: dead.value ?? '', headers };
}

export type Verdict =
  /** Passes the stream's check now: re-inject. `again`: an earlier run may have re-injected it. */
  | {
      readonly kind: 'replay';
      readonly event: SluiceEvent;
      readonly brokenRule: string | undefined;
      readonly again: boolean;
    }
  /** Still refused by the stream's check: stays in the DLQ. */
  | { readonly kind: 'fails'; readonly step: string; readonly reason: string }
  /** Not replayable by its kind (KEPT_STEPS): stays, and is done for the position. */
  | { readonly kind: 'kept'; readonly why: string }
  /** Outside this run's `--tenant`. */
  | { readonly kind: 'other-tenant' }
  /**
   * Passes, but older than the dedup horizon (less the margin): not re-sent. `again`: a replay
   * re-injected it (a copy now would count twice; done). Else a first replay, refused without
   * --force (its client may have re-sent it meanwhile, with a claim that is gone).
   */
  | { readonly kind: 'beyond-horizon'; readonly again: boolean }
  /** Passes, but recording it as sent would exceed the holes' bound (planSends): a later run. */
  | { readonly kind: 'held' };

export interface JudgeContext {
  readonly stream: StreamDefinition;
  readonly topics: TopicNames;
  /** Now: the timestamp the copy gets from the broker, which the processor judges event time by. */
  readonly now: number;
  /** One past the highest DLQ offset ever re-injected on this partition (0n: none). */
  readonly seen: bigint;
  /** The offsets below `seen` that were not re-injected (dlq-record.ts). */
  readonly holes: Holes;
  /** Re-inject first replays older than the horizon all the same (the operator's call). */
  readonly force: boolean;
  /** Only this tenant's dead letters, when set. */
  readonly tenant: string | undefined;
}

/** What a replay does with `dead`, judged by the same check the processor will make of its copy. */
export function judge(dead: DeadLetter, ctx: JudgeContext): Verdict {
  const kept = KEPT_STEPS[dead.step];
  if (kept !== undefined) return { kind: 'kept', why: `${dead.step}: ${kept}` };
  if (!REPLAYABLE_STEPS.has(dead.step)) return { kind: 'kept', why: `step '${dead.step}' is not replayable` };
  if (ctx.tenant !== undefined && dead.tenant !== ctx.tenant) return { kind: 'other-tenant' };
  const copy = replayedRecord(dead.record, ctx.topics);
  const outcome = checkRecord(
    {
      topic: copy.topic,
      partition: dead.record.partition,
      offset: dead.record.offset,
      key: dead.record.key,
      value: dead.record.value,
      headers: copy.headers ?? {},
      timestamp: ctx.now,
    },
    ctx.stream,
  );
  if (outcome.kind === 'dlq') return { kind: 'fails', step: outcome.step, reason: outcome.reason };
  // Defence in depth: the copy's tenant is the one its bytes hold (checked, not assumed).
  if (ctx.tenant !== undefined && outcome.event.tenant !== ctx.tenant) return { kind: 'other-tenant' };
  const again = wasSent(ctx, dead.record.offset);
  // INVARIANT: no copy after the horizon, unless the operator forces a first replay.
  if (dead.at + ctx.stream.dedupHorizonMs - HORIZON_MARGIN_MS <= ctx.now && (again || !ctx.force))
    return { kind: 'beyond-horizon', again };
  return { kind: 'replay', event: outcome.event, brokenRule: brokenRuleOf(outcome), again };
}

/** Done for the position: re-injected (once acknowledged, or by an earlier run) or never replayable. */
export const isDone = (verdict: Verdict): boolean =>
  verdict.kind === 'replay' ||
  verdict.kind === 'kept' ||
  (verdict.kind === 'beyond-horizon' && verdict.again);

/**
 * The next replay position of a partition: past the run of done dead letters at its start.
 * `judged` are the dead letters this run read from the partition, in offset order and with none
 * skipped (offsets missing between them hold no record). A run that did not read from the
 * position (`--since` later than it) moves nothing: what lies between was not looked at.
 */
export function nextPosition(
  position: bigint,
  judged: readonly { readonly offset: bigint; readonly verdict: Verdict }[],
  readFromPosition: boolean,
): bigint {
  if (!readFromPosition) return position;
  let next = position;
  for (const { offset, verdict } of judged) {
    if (!isDone(verdict)) break;
    if (offset + 1n > next) next = offset + 1n;
  }
  return next;
}

/** Where a partition's run reads from: the position, or the cursor a run at its limit left, or --since. */
export function runStart(
  position: bigint,
  cursor: bigint,
  since: bigint | undefined,
): { readonly from: bigint; readonly fromPosition: boolean } {
  let from = cursor > position ? cursor : position;
  if (since !== undefined && since > from) from = since;
  return { from, fromPosition: from === position };
}

/** The cursor a run leaves: past what it read when it stopped short of `end`, else none (0n). */
export function nextCursor(lastRead: bigint | undefined, end: bigint): bigint {
  return lastRead !== undefined && lastRead + 1n < end ? lastRead + 1n : 0n;
}
