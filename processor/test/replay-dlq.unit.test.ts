// What a DLQ replay does with each dead letter (processor/src/replay/dlq.ts): which pass the
// stream's check now, which stay (still failing, or never replayable), the position that moves
// only over done ones, the horizon rule (for copies an earlier run sent, and for first replays of
// old dead letters), exactly which were sent before (the holes below `seen`), and tenants.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { topicNames } from '@sluice/shared/streams/registry';
import type { JudgeContext, Verdict } from '../src/replay/dlq.ts';
import {
  HORIZON_MARGIN_MS,
  isDone,
  judge,
  nextCursor,
  nextPosition,
  readDeadLetter,
  replayedRecord,
  runStart,
} from '../src/replay/dlq.ts';
import { BACKFILL_HEADER } from '../src/stages/place.ts';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const topics = topicNames('ecommerce', 'p.');
const encoder = new TextEncoder();

function dead(
  offset: bigint,
  step: string,
  options: { amount?: unknown; tenant?: string; at?: number; value?: string } = {},
): IncomingRecord {
  const value =
    options.value ??
    JSON.stringify({
      id: `e-${offset}`,
      stream: 'ecommerce',
      tenant: options.tenant ?? 'acme',
      time: NOW - 60_000,
      received_at: NOW - 60_000,
      key: 'Books',
      data: {
        transaction_id: `e-${offset}`,
        user_id: 'u-1',
        product_category: 'Books',
        product_name: 'Atlas',
        amount: options.amount ?? 12.5,
        timestamp: new Date(NOW - 60_000).toISOString(),
        payment_method: 'card',
      },
    });
  return {
    topic: topics.dlq,
    partition: 0,
    offset,
    key: encoder.encode('Books'),
    value: encoder.encode(value),
    headers: {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'sluice-dlq-reason': 'payload does not match',
      'sluice-dlq-step': step,
      'sluice-dlq-timestamp': new Date(options.at ?? NOW - 60_000).toISOString(),
      'sluice-source-topic': topics.events,
      'sluice-source-partition': '3',
      'sluice-source-offset': '41',
    },
    timestamp: options.at ?? NOW - 60_000,
  };
}

const ctx = (over: Partial<JudgeContext> = {}): JudgeContext => ({
  stream: ecommerce,
  topics,
  now: NOW,
  seen: 0n,
  holes: [],
  force: false,
  tenant: undefined,
  ...over,
});

test('a dead letter is read: step, reason, time, tenant, id and where the processor read it', () => {
  const d = readDeadLetter(dead(7n, 'validate'));
  assert.equal(d.step, 'validate');
  assert.equal(d.reason, 'payload does not match');
  assert.equal(d.at, NOW - 60_000);
  assert.equal(d.tenant, 'acme');
  assert.equal(d.id, 'e-7');
  assert.equal(d.source, `${topics.events}/3/41`);
  const garbage = readDeadLetter(dead(8n, 'decode', { value: '{not json' }));
  assert.equal(garbage.tenant, undefined);
  assert.equal(garbage.id, undefined);
});

test('the copy keeps key, bytes and trace; drops the DLQ headers; is a backfill naming its origin', () => {
  const record = dead(7n, 'validate');
  const copy = replayedRecord(record, topics);
  assert.equal(copy.topic, topics.events);
  assert.equal(copy.key, 'Books');
  assert.deepEqual(copy.value, record.value);
  assert.deepEqual(copy.headers, {
    traceparent: record.headers.traceparent,
    [BACKFILL_HEADER]: 'dlq',
    'sluice-replayed-from': `${topics.dlq}/0/7`,
  });
});

test('what passes the stream now is replayed; what still fails stays with its current reason', () => {
  const passes = judge(readDeadLetter(dead(1n, 'validate')), ctx());
  assert.equal(passes.kind, 'replay');
  if (passes.kind === 'replay') {
    assert.equal(passes.again, false);
    assert.equal(passes.event.tenant, 'acme');
  }
  const fails = judge(readDeadLetter(dead(2n, 'validate', { amount: -3 })), ctx());
  assert.equal(fails.kind, 'fails');
  if (fails.kind === 'fails') {
    assert.equal(fails.step, 'validate');
    assert.match(fails.reason, /payload does not match the ecommerce schema: .*amount/);
  }
  const undecodable = judge(readDeadLetter(dead(3n, 'decode', { value: 'nope' })), ctx());
  assert.deepEqual(undecodable, { kind: 'fails', step: 'decode', reason: 'value is not JSON' });
});

test('event time is judged against the time of the replay, as the processor will judge the copy', () => {
  // Two hours ahead of the replay: beyond the stream's 1 h of future skew.
  const ahead = dead(1n, 'validate', {
    value: JSON.stringify({
      ...JSON.parse(new TextDecoder().decode(dead(1n, 'validate').value ?? new Uint8Array())),
      time: NOW + 2 * 3_600_000,
    }),
  });
  assert.equal(judge(readDeadLetter(ahead), ctx()).kind, 'fails');
  assert.equal(judge(readDeadLetter(ahead), ctx({ now: NOW + 2 * 3_600_000 })).kind, 'replay');
});

test('quality and store dead letters are never replayed: they would count twice, or as nothing', () => {
  for (const step of ['quality', 'sink', 'state', 'dedup', 'something-new']) {
    const verdict = judge(readDeadLetter(dead(1n, step)), ctx());
    assert.equal(verdict.kind, 'kept', step);
  }
});

test('--tenant: only that tenant; a dead letter whose tenant cannot be read is in no tenant run', () => {
  assert.equal(judge(readDeadLetter(dead(1n, 'validate')), ctx({ tenant: 'acme' })).kind, 'replay');
  assert.equal(
    judge(readDeadLetter(dead(1n, 'validate', { tenant: 'globex' })), ctx({ tenant: 'acme' })).kind,
    'other-tenant',
  );
  assert.equal(
    judge(readDeadLetter(dead(1n, 'decode', { value: 'nope' })), ctx({ tenant: 'acme' })).kind,
    'other-tenant',
  );
});

test('below `seen` (sent before): re-sent only while the first copy claim surely lives', () => {
  const horizon = ecommerce.dedupHorizonMs;
  const fresh = judge(readDeadLetter(dead(4n, 'validate')), ctx({ seen: 5n }));
  assert.equal(fresh.kind, 'replay');
  if (fresh.kind === 'replay') assert.equal(fresh.again, true);
  const old = dead(4n, 'validate', { at: NOW - horizon + HORIZON_MARGIN_MS });
  // Sent before and old: not re-sent, even with --force (a copy would count twice); done.
  for (const force of [false, true]) {
    const verdict = judge(readDeadLetter(old), ctx({ seen: 5n, now: NOW, force }));
    assert.deepEqual(verdict, { kind: 'beyond-horizon', again: true });
    assert.equal(isDone(verdict), true, 'its copy was sent: it does not pin the position');
  }
});

test('a dead letter below `seen` that was never sent (a hole) is a first replay, however old', () => {
  const horizon = ecommerce.dedupHorizonMs;
  // Offset 4 still failed, or a --tenant run skipped it, while 3 and 5 were re-sent: seen 6, hole [4, 5).
  const record = { seen: 6n, holes: [[4n, 5n]] as const };
  const fresh = judge(readDeadLetter(dead(4n, 'validate')), ctx(record));
  assert.equal(fresh.kind, 'replay');
  if (fresh.kind === 'replay') assert.equal(fresh.again, false, 'never sent: not a copy');
  const sentNeighbour = judge(readDeadLetter(dead(5n, 'validate')), ctx(record));
  assert.equal(sentNeighbour.kind === 'replay' && sentNeighbour.again, true);
  // Days later, with --force: re-injected as the first copy it is, not refused as a repeat.
  const old = readDeadLetter(dead(4n, 'validate', { at: NOW - 3 * horizon }));
  const forced = judge(old, ctx({ ...record, force: true }));
  assert.equal(forced.kind, 'replay');
  if (forced.kind === 'replay') assert.equal(forced.again, false);
  assert.deepEqual(judge(old, ctx(record)), { kind: 'beyond-horizon', again: false });
});

test('a first replay older than the horizon is refused without --force: its client may have re-sent it', () => {
  const horizon = ecommerce.dedupHorizonMs;
  const old = readDeadLetter(dead(4n, 'validate', { at: NOW - horizon + HORIZON_MARGIN_MS }));
  // At or above `seen`: no replay ever sent it.
  const refused = judge(old, ctx({ seen: 4n }));
  assert.deepEqual(refused, { kind: 'beyond-horizon', again: false });
  assert.equal(isDone(refused), false, 'not done: a forced run can still take it');
  const forced = judge(old, ctx({ seen: 4n, force: true }));
  assert.equal(forced.kind, 'replay');
  if (forced.kind === 'replay') assert.equal(forced.again, false);
  // Younger than the horizon less the margin: replayed without --force.
  const young = readDeadLetter(dead(4n, 'validate', { at: NOW - horizon + HORIZON_MARGIN_MS + 1 }));
  assert.equal(judge(young, ctx()).kind, 'replay');
});

test('the position moves over done dead letters only, and stops at the first that is not', () => {
  const replay: Verdict = {
    kind: 'replay',
    event: { id: 'x', stream: 'ecommerce', tenant: 'acme', time: 0, receivedAt: 0, key: 'k', data: {} },
    brokenRule: undefined,
    again: false,
  };
  const kept: Verdict = { kind: 'kept', why: 'quality' };
  const fails: Verdict = { kind: 'fails', step: 'validate', reason: 'no' };
  const judged = [
    { offset: 10n, verdict: replay },
    { offset: 11n, verdict: kept },
    { offset: 12n, verdict: fails },
    { offset: 13n, verdict: replay },
  ];
  assert.equal(nextPosition(10n, judged, true), 12n);
  assert.equal(nextPosition(10n, judged.slice(0, 2), true), 12n);
  // Offsets missing between records (nothing there) do not hold it back.
  assert.equal(nextPosition(8n, [{ offset: 10n, verdict: replay }], true), 11n);
  // A run that started later than the position (--since) did not look at what lies between.
  assert.equal(nextPosition(5n, judged, false), 5n);
  assert.equal(nextPosition(10n, [], true), 10n);
  // Old and sent before: done. Old and never sent (refused without --force), or held: not done.
  const sentOld: Verdict = { kind: 'beyond-horizon', again: true };
  const refusedOld: Verdict = { kind: 'beyond-horizon', again: false };
  assert.equal(
    nextPosition(
      10n,
      [
        { offset: 10n, verdict: sentOld },
        { offset: 11n, verdict: replay },
      ],
      true,
    ),
    12n,
  );
  assert.equal(nextPosition(10n, [{ offset: 10n, verdict: refusedOld }], true), 10n);
  assert.equal(nextPosition(10n, [{ offset: 10n, verdict: { kind: 'held' } }], true), 10n);
});

test('bounded runs progress: a run at its limit leaves a cursor, the next reads on, then wraps', () => {
  // No cursor: from the position, which it may move.
  assert.deepEqual(runStart(8n, 0n, undefined), { from: 8n, fromPosition: true });
  // A cursor past the position: read on from there; the position cannot move this run.
  assert.deepEqual(runStart(8n, 10n, undefined), { from: 10n, fromPosition: false });
  // --since later than both wins; earlier than the position changes nothing.
  assert.deepEqual(runStart(8n, 10n, 20n), { from: 20n, fromPosition: false });
  assert.deepEqual(runStart(8n, 0n, 3n), { from: 8n, fromPosition: true });
  // Stopped short of the end: the cursor is past what it read. Reached the end: none.
  assert.equal(nextCursor(9n, 11n), 10n);
  assert.equal(nextCursor(10n, 11n), 0n);
  assert.equal(nextCursor(undefined, 11n), 0n);
});
