// ./sluice dlq list|show|replay --stream S: a stream's dead letters (`<prefix><stream>.dlq`) with
// their reasons, one in full, and the replay of those that pass the stream's check now (after a
// schema fix) as a backfill, exactly once (processor/src/replay/dlq.ts says how). The stream is
// the processor's: the built-in registry or SLUICE_STREAMS_MODULE, so a replay judges with the
// definition the processor will judge the copies with. Every run is bounded: --limit dead letters
// (and --since, by the time they were dead-lettered). `./sluice dlq replay` holds a lock per stream
// (deploy/local/lib/commands.sh), so two replays of one stream never overlap; each commit here
// also re-reads what is stored and never moves it backwards (tools/dlq-topic.ts).

import { kafkaBrokersEnv, loadConfig, topicPrefixEnv } from '@sluice/shared/config';
import { checkKafkaSecurity, kafkaSecurityEnv, kafkaSecurityOf } from '@sluice/shared/connection-config';
import { createConfluentProducer } from '@sluice/shared/kafka/confluent/producer';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import { processConfigOptions } from '@sluice/shared/lifecycle';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import type { TopicNames } from '@sluice/shared/streams/registry';
import { topicNames } from '@sluice/shared/streams/registry';
import { z } from 'zod';
import type { DeadLetter, Verdict } from '../processor/src/replay/dlq.ts';
import {
  HORIZON_MARGIN_MS,
  judge,
  nextCursor,
  nextPosition,
  readDeadLetter,
  replayedRecord,
  runStart,
} from '../processor/src/replay/dlq.ts';
import type { ReplayState, SendPlan } from '../processor/src/replay/dlq-record.ts';
import { clip, MAX_HOLES, planSends } from '../processor/src/replay/dlq-record.ts';
import { streamsInUse } from '../processor/src/streams-in-use.ts';
import { parseCliArgs } from './cli-args.ts';
import type { DlqTopic, PartitionRange } from './dlq-topic.ts';
import { openDlqTopic } from './dlq-topic.ts';

const USAGE = `./sluice dlq list|show|replay --stream S [--since T] [--limit N] [--tenant T] [--dry-run] [--force]
  list     one line per dead letter: partition/offset, time, step, tenant, event id, reason
  show     one dead letter in full: --partition P (default 0) --offset O
  replay   re-inject the dead letters that pass the stream's check now, as a backfill (exactly once);
           --dry-run counts what would pass and writes nothing
  --since  an RFC 3339 time or a duration ago (30m, 2h, 7d): dead letters written since then
  --limit  at most this many dead letters per run (list: 100, replay: 10000; at most 1000000)
  --tenant only this tenant's dead letters
  --force  replay: also re-inject dead letters older than the dedup horizon (less 10 min) that no
           replay sent yet; refused without it, as their clients may have re-sent them since and a
           copy could count twice. Only when you know the clients did not.`;

const MAX_LIMIT = 1_000_000;
/** Still-failing dead letters printed by a replay; the rest are counted (see list). */
const FAILING_SHOWN = 20;

const { values, positionals } = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      stream: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      tenant: { type: 'string' },
      partition: { type: 'string', default: '0' },
      offset: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  },
  USAGE,
);

function usageError(message: string): never {
  console.error(`${message}\nusage: ${USAGE}`);
  process.exit(2);
}

const command = positionals[0];
if (command !== 'list' && command !== 'show' && command !== 'replay') usageError('list, show or replay?');
const config = loadConfig(
  'sluice-dlq',
  z
    .object({
      SLUICE_KAFKA_BROKERS: kafkaBrokersEnv,
      ...kafkaSecurityEnv,
      SLUICE_TOPIC_PREFIX: topicPrefixEnv,
      SLUICE_STREAMS_MODULE: z.string().min(1).optional(),
    })
    .superRefine(checkKafkaSecurity),
  processConfigOptions(),
);
if (values.stream === undefined) usageError('--stream is required');
const stream = await streamsInUse({ names: [values.stream], module: config.SLUICE_STREAMS_MODULE })
  .then(([s]) => s)
  .catch((error: unknown) => usageError(error instanceof Error ? error.message : String(error)));
if (stream === undefined) usageError(`unknown stream ${values.stream}`);
const definition: StreamDefinition = stream;
const since = values.since === undefined ? undefined : parseSince(values.since);
const limit = parseCount(values.limit ?? (command === 'list' ? '100' : '10000'), '--limit');
const tenant = values.tenant;
const topics = topicNames(definition.name, config.SLUICE_TOPIC_PREFIX);
// Control characters (C0, C1, line and paragraph separators, bidi overrides) as \u escapes, the
// rest as is, bounded: a dead letter may hold anything, and its text goes to a terminal.
const unsafe = (c: number) =>
  c < 0x20 ||
  (c >= 0x7f && c <= 0x9f) ||
  c === 0x2028 ||
  c === 0x2029 ||
  (c >= 0x202a && c <= 0x202e) ||
  (c >= 0x2066 && c <= 0x2069);
function printable(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    out += unsafe(c) ? `\\u${c.toString(16).padStart(4, '0')}` : cut[i];
  }
  return out;
}

function parseSince(text: string): number {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(text)) return Date.now() - durationMs(text as Duration);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) usageError(`--since ${text}: expected an RFC 3339 time or a duration (2h)`);
  return ms;
}

function parseCount(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LIMIT) usageError(`${name} must be 1..${MAX_LIMIT}`);
  return n;
}

/** From --since (or the start) to the end offset each partition has now. */
async function rangesOf(topic: DlqTopic): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const partition of await topic.partitions()) {
    const { low, high } = await topic.bounds(partition);
    let from = since === undefined ? low : await topic.offsetAt(partition, since);
    // Below the log start, retention removed them: read from what is there (bigints: no Math.max).
    if (from < low) from = low;
    ranges.push({ partition, from, to: high });
  }
  return ranges;
}

const tenantOf = (d: DeadLetter) => (d.tenant === undefined ? '-' : printable(d.tenant, 64));
const idOf = (d: DeadLetter) => (d.id === undefined ? '-' : printable(d.id, 128));
const coordinates = (r: IncomingRecord) => `${r.partition}/${r.offset}`;

async function list(topic: DlqTopic): Promise<void> {
  const ranges = await rangesOf(topic);
  const records = await topic.read(ranges, limit);
  const letters = records.map(readDeadLetter).filter((d) => tenant === undefined || d.tenant === tenant);
  for (const d of letters)
    console.log(
      [
        coordinates(d.record),
        new Date(d.at).toISOString(),
        printable(d.step, 32),
        tenantOf(d),
        idOf(d),
        printable(d.reason, 300),
      ].join('  '),
    );
  const inRange = ranges.reduce((n, r) => n + Number(r.to - r.from), 0);
  const positions = await Promise.all(
    ranges.map(async (r) => {
      const p = await topic.position(r.partition);
      return `${r.partition}:${p.position ?? 'none'}`;
    }),
  );
  console.log(
    `${letters.length} dead letter(s) shown of ${inRange} in ${topics.dlq}${since === undefined ? '' : ` since ${new Date(since).toISOString()}`}` +
      `${records.length < inRange ? ` (more: a later --since or a larger --limit)` : ''}; replay position ${positions.join(' ') || 'none'}`,
  );
}

async function show(topic: DlqTopic): Promise<void> {
  if (values.offset === undefined) usageError('show needs --offset (and --partition, default 0)');
  const partition = Number(values.partition);
  if (!Number.isSafeInteger(partition) || partition < 0)
    usageError(`--partition ${values.partition}: a partition number`);
  let offset: bigint;
  try {
    offset = BigInt(values.offset);
  } catch {
    usageError(`--offset ${values.offset} is not a whole number`);
  }
  const { low, high } = await topic.bounds(partition).catch(() => ({ low: 0n, high: 0n }));
  if (offset < low || offset >= high) {
    console.error(`${topics.dlq} partition ${partition} holds offsets ${low}..${high - 1n}; no ${offset}`);
    process.exit(1);
  }
  const [record] = await topic.read([{ partition, from: offset, to: offset + 1n }], 1);
  if (record === undefined || record.offset !== offset) {
    console.error(`${topics.dlq} ${partition}/${offset}: no such record`);
    process.exit(1);
  }
  const d = readDeadLetter(record);
  const { position, seen, holes } = await topic.position(partition);
  // What a replay without --force would do with it.
  const verdict = judge(d, {
    stream: definition,
    topics,
    now: Date.now(),
    seen,
    holes,
    force: false,
    tenant: undefined,
  });
  const value = record.value === null ? '' : new TextDecoder().decode(record.value);
  let pretty: string;
  try {
    pretty = JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    pretty = value;
  }
  const lines = [
    `dead letter ${topics.dlq} ${coordinates(record)}`,
    `  time      ${new Date(d.at).toISOString()}`,
    `  step      ${printable(d.step, 32)}`,
    `  reason    ${printable(d.reason, 1000)}`,
    `  from      ${d.source === undefined ? '-' : printable(d.source, 300)}`,
    `  tenant    ${tenantOf(d)}`,
    `  event id  ${idOf(d)}`,
    `  key       ${record.key === null ? '-' : printable(new TextDecoder().decode(record.key), 300)}`,
    `  replay    ${position !== undefined && offset < position && verdict.kind === 'replay' ? 'done: replayed (below the replay position)' : describe(verdict)}`,
    '  headers',
    ...Object.entries(record.headers).map(([k, v]) => `    ${printable(k, 100)}: ${printable(v, 1000)}`),
    '  value',
    // Escaped as the rest: a dead letter may hold anything, terminal controls included.
    ...pretty.split('\n').map((line) => `    ${printable(line, 10_000)}`),
  ];
  console.log(lines.join('\n'));
}

function describe(verdict: Verdict): string {
  switch (verdict.kind) {
    case 'replay':
      return `passes now: a replay re-injects it${verdict.brokenRule === undefined ? '' : ` (it breaks rule ${verdict.brokenRule}: counted as rejected)`}`;
    case 'fails':
      return `still fails (${verdict.step}): ${printable(verdict.reason, 500)}`;
    case 'kept':
      return `not replayable: ${verdict.why}`;
    case 'other-tenant':
      return 'another tenant';
    case 'beyond-horizon':
      return verdict.again
        ? `passes, but dead-lettered more than ${horizonText()} ago and re-injected by an earlier replay: not re-sent (a copy now could count twice); done`
        : `passes, but dead-lettered more than ${horizonText()} ago: its client may have re-sent it since, with a dedup claim that is gone by now, so a copy could count twice; a replay refuses it unless --force`;
    case 'held':
      return 'passes, but the record of what was re-injected is full: a later run re-injects it';
  }
}

/** The dedup horizon less the margin a replay keeps, as a person reads it. */
function horizonText(): string {
  const minutes = (ms: number) =>
    ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 60_000)} min`;
  return `the dedup horizon (${minutes(definition.dedupHorizonMs)}) less ${minutes(HORIZON_MARGIN_MS)}`;
}

interface Judged {
  readonly offset: bigint;
  readonly dead: DeadLetter;
  readonly verdict: Verdict;
}

interface PartitionRun {
  readonly partition: number;
  /** What is stored, the position no lower than the log start. */
  readonly stored: ReplayState;
  /** The end offset when the run began. */
  readonly end: bigint;
  readonly fromPosition: boolean;
  judged: Judged[];
  /** What sending this run's re-injections records (the holes' bound may hold some back). */
  plan: SendPlan;
}

async function replay(topic: DlqTopic, definition: StreamDefinition, names: TopicNames): Promise<void> {
  const dryRun = values['dry-run'] === true;
  const force = values.force === true;
  const now = Date.now();
  const runs: PartitionRun[] = [];
  const ranges: PartitionRange[] = [];
  for (const partition of await topic.partitions()) {
    const { low, high } = await topic.bounds(partition);
    const read = await topic.position(partition);
    const position = read.position === undefined || read.position < low ? low : read.position;
    const stored = { ...read, position, holes: clip(read.holes, position, read.seen) };
    const after = since === undefined ? undefined : await topic.offsetAt(partition, since);
    const { from, fromPosition } = runStart(position, stored.cursor, after);
    ranges.push({ partition, from, to: high });
    runs.push({ partition, stored, end: high, fromPosition, judged: [], plan: { sendable: 0, ...stored } });
  }
  for (const record of await topic.read(ranges, limit)) {
    const run = runs.find((r) => r.partition === record.partition);
    if (run === undefined) continue;
    const dead = readDeadLetter(record);
    const { seen, holes } = run.stored;
    run.judged.push({
      offset: record.offset,
      dead,
      verdict: judge(dead, { stream: definition, topics: names, now, seen, holes, force, tenant }),
    });
  }
  // Which of those that pass can be recorded as sent within the holes' bound; the rest are held.
  for (const run of runs) {
    const passing = run.judged.filter((j) => j.verdict.kind === 'replay');
    run.plan = planSends(
      run.stored,
      passing.map((j) => j.offset),
    );
    const held = new Set(passing.slice(run.plan.sendable).map((j) => j.offset));
    if (held.size > 0)
      run.judged = run.judged.map((j) => (held.has(j.offset) ? { ...j, verdict: { kind: 'held' } } : j));
  }
  const all = runs.flatMap((r) => r.judged);
  const count = (kind: Verdict['kind']) => all.filter((j) => j.verdict.kind === kind).length;
  const toSend = all.filter((j) => j.verdict.kind === 'replay');
  const again = toSend.filter((j) => j.verdict.kind === 'replay' && j.verdict.again).length;
  const breakers = toSend.filter((j) => j.verdict.kind === 'replay' && j.verdict.brokenRule !== undefined);
  const old = (sent: boolean) =>
    all.filter((j) => j.verdict.kind === 'beyond-horizon' && j.verdict.again === sent).length;

  if (!dryRun && toSend.length > 0) {
    // Write-ahead: the record says which offsets this run is about to re-inject before any of it
    // is sent, so a run that dies after sending never leaves a copy the next run takes for new.
    for (const run of runs) {
      if (run.plan.sendable === 0) continue;
      const { seen, holes } = run.plan;
      const committed = await topic.commit(run.partition, { ...run.stored, seen, holes, cursor: 0n });
      if (!committed.ok) {
        console.error(`${committed.error.message}; nothing re-injected, run it again`);
        process.exitCode = 1;
        return;
      }
    }
    const producer = await createConfluentProducer({
      brokers: config.SLUICE_KAFKA_BROKERS,
      clientId: 'sluice-dlq',
      security: kafkaSecurityOf(config),
      deliveryTimeoutMs: 30_000,
      maxQueuedRecords: 100_000,
    });
    try {
      for (let i = 0; i < toSend.length; i += 1_000) {
        const chunk = toSend.slice(i, i + 1_000).map((j) => replayedRecord(j.dead.record, names));
        const sent = await producer.send(chunk);
        if (!sent.ok) {
          // Positions stay where they were: the next run sends these again (the event ids and
          // the record of what was sent make the copies recognisable).
          console.error(`re-injection not acknowledged by Kafka: ${sent.error.message}; run it again`);
          process.exitCode = 1;
          return;
        }
      }
    } finally {
      await producer.close();
    }
  }
  const moved: string[] = [];
  for (const run of runs) {
    const next = nextPosition(run.stored.position, run.judged, run.fromPosition);
    // Held back: the next run starts at the position again, where a fix may close holes.
    const held = run.judged.some((j) => j.verdict.kind === 'held');
    const cursor = held ? 0n : nextCursor(run.judged.at(-1)?.offset, run.end);
    const { seen, holes } = run.plan;
    let position = next;
    if (!dryRun) {
      const committed = await topic.commit(run.partition, {
        position: next,
        seen,
        holes: clip(holes, next, seen),
        cursor,
      });
      if (!committed.ok) {
        console.error(`${committed.error.message}; what was re-injected is recorded, run it again`);
        process.exitCode = 1;
        return;
      }
      position = committed.value.position;
    }
    moved.push(
      `${run.partition}:${run.stored.position}->${position}${cursor > 0n ? ` (the next run reads on from ${cursor})` : ''}`,
    );
  }

  const verb = dryRun ? 'would re-inject' : 're-injected';
  console.log(
    `${dryRun ? 'dry run (nothing written): ' : ''}examined ${all.length} dead letter(s) of ${names.dlq}` +
      `${tenant === undefined ? '' : ` for tenant ${tenant}`}${all.length >= limit ? ` (the --limit of ${limit}: run again for more)` : ''}`,
  );
  console.log(
    `  ${verb} ${toSend.length} into ${names.events} as a backfill` +
      `${again > 0 ? ` (${again} may be copies of an earlier replay's: the event-id dedup counts them once)` : ''}` +
      `${breakers.length > 0 ? `; ${breakers.length} break a business rule (counted as rejected)` : ''}`,
  );
  const failing = all.filter((j) => j.verdict.kind === 'fails');
  console.log(`  still failing ${failing.length} (they stay in ${names.dlq})`);
  for (const j of failing.slice(0, FAILING_SHOWN))
    if (j.verdict.kind === 'fails')
      console.log(
        `    ${j.dead.record.partition}/${j.offset}  ${idOf(j.dead)}  ${j.verdict.step}: ${printable(j.verdict.reason, 300)}`,
      );
  if (failing.length > FAILING_SHOWN)
    console.log(`    ... and ${failing.length - FAILING_SHOWN} more (./sluice dlq list)`);
  console.log(
    `  not replayable ${count('kept')} (quality: counted when read; sink/state/dedup: refused by a store)`,
  );
  if (old(false) > 0)
    console.log(
      `  refused ${old(false)}: dead-lettered more than ${horizonText()} ago, their clients may have re-sent them since (a copy could count twice); --force re-injects them`,
    );
  if (old(true) > 0)
    console.log(
      `  not re-sent ${old(true)}: dead-lettered more than ${horizonText()} ago and re-injected by an earlier replay (done)`,
    );
  if (count('held') > 0)
    console.log(
      `  held back ${count('held')}: the record of what was re-injected keeps at most ${MAX_HOLES} gaps of dead letters not sent; re-inject or fix those first (still failing, other tenants', refused), then run again`,
    );
  if (count('other-tenant') > 0) console.log(`  other tenants' ${count('other-tenant')} left alone`);
  console.log(
    `  replay position ${moved.join(' ') || 'none (no dead letter yet)'}${dryRun ? ' (dry run: not moved)' : ''}`,
  );
}

// Last: the helpers above are initialised by now.
const dlq = await openDlqTopic({
  brokers: config.SLUICE_KAFKA_BROKERS,
  security: kafkaSecurityOf(config),
  topic: topics.dlq,
  // One group per prefix and stream: the replay position of this stream's DLQ.
  groupId: `${config.SLUICE_TOPIC_PREFIX}sluice-dlq-replay.${definition.name}`,
});
try {
  if (command === 'list') await list(dlq);
  else if (command === 'show') await show(dlq);
  else await replay(dlq, definition, topics);
} finally {
  await dlq.close();
}
