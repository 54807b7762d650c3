// Working window state in Redis (guarantee 2). Per consumer group and partition, under one hash tag
// (`{group|stream|partition}`: one Redis Cluster slot, so one script may touch every key):
//   meta     epoch, next offset, watermark, max event time: where the state stands in the log;
//   windows  the open windows by id, accumulators in their stored form;
//   last     the latest commit (rows and removals), kept until a later one replaces it, so a crash
//            between this commit and PostgreSQL's leaves nothing that only memory held.
// One Lua script commits the windows and the position they reflect together, and only under the
// committing worker's epoch and from the position it read: a zombie (a worker that lost the
// partition) or a state wiped under a worker's feet refuses the write as `fenced`.

import type { StoredWindow } from '@sluice/shared/db/window-rows';
import type { RedisClient } from '@sluice/shared/redis/client';
import { redisScript } from '@sluice/shared/redis/script';
import type { Result } from '@sluice/shared/result';
import { fail, ok } from '@sluice/shared/result';
import type { StoredAggState } from '@sluice/shared/streams/aggregate';
import { z } from 'zod';
import { windowId } from '../partition-state.ts';
import type { Fenced, WindowRef } from './postgres-rows.ts';

export interface PartitionRef {
  readonly group: string;
  readonly stream: string;
  readonly partition: number;
}

/** Where a partition stands: the next offset to apply (null: none yet) and the watermark as of it. */
export interface Position {
  readonly offset: bigint | null;
  readonly watermark: number | null;
}

/** A window row with its accumulators in their stored form, as Redis and PostgreSQL keep it. */
export type StoredRow = StoredWindow<StoredAggState>;

export interface StateCommit {
  /** The epoch the committing worker claimed the partition with. */
  readonly epoch: number;
  /** The position the worker read: the commit lands only while the state still stands there. */
  readonly from: Position;
  readonly to: Position;
  readonly maxEventTime: number | null;
  /** Every row the commit writes; provisional ones stay open, the others leave the state. */
  readonly rows: readonly StoredRow[];
  /** Sessions merged into another: they leave the state too. */
  readonly removed: readonly WindowRef[];
  readonly traceId?: string | undefined;
}

export interface PartitionSnapshot {
  readonly position: Position;
  readonly maxEventTime: number | null;
  readonly windows: StoredRow[];
  /** The latest commit; PostgreSQL may not hold it yet (see commit/takeover.ts). */
  readonly last: StateCommit | null;
}

export interface StateStore {
  /**
   * Takes the partition's state under `epoch` (from PostgreSQL's claim, so epochs never go back
   * even if Redis is wiped): from now on only commits carrying it land. Null when Redis holds no
   * state for it; `fenced` when a later epoch already took it.
   */
  take(ref: PartitionRef, epoch: number): Promise<Result<PartitionSnapshot | null, Fenced>>;
  /** Replaces the whole state (a rebuild from PostgreSQL), under the epoch that took it. */
  seed(
    ref: PartitionRef,
    epoch: number,
    snapshot: Omit<PartitionSnapshot, 'last'>,
  ): Promise<Result<void, Fenced>>;
  commit(ref: PartitionRef, commit: StateCommit): Promise<Result<void, Fenced>>;
}

// KEYS: meta, windows, last. ARGV: epoch. Reply: {0} fenced; {1} no state; or
// {1, next, watermark, max event time, last, window...}.
const TAKE_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
if current > tonumber(ARGV[1]) then return {0} end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1])
local meta = redis.call('HMGET', KEYS[1], 'next', 'watermark', 'max_event_time')
if not meta[1] then return {1} end
local out = {1, meta[1], meta[2] or '', meta[3] or '', redis.call('GET', KEYS[3]) or ''}
local open = redis.call('HVALS', KEYS[2])
for i = 1, #open do out[5 + i] = open[i] end
return out
`;

// KEYS: meta, windows, last. ARGV: epoch, next, watermark, max event time, then (id, window)*.
const SEED_SCRIPT = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'next', ARGV[2], 'watermark', ARGV[3], 'max_event_time', ARGV[4])
return 1
`;

// KEYS: meta, windows, last. ARGV: epoch, from next, from watermark, to next, to watermark,
// max event time, last, number of open windows, then (id, window)* kept open, then ids leaving.
const COMMIT_SCRIPT = `
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'next', 'watermark')
if meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2] or meta[3] ~= ARGV[3] then return 0 end
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  i = i + 1
end
redis.call('HSET', KEYS[1], 'next', ARGV[4], 'watermark', ARGV[5], 'max_event_time', ARGV[6])
redis.call('SET', KEYS[3], ARGV[7])
return 1
`;

const storedRowSchema = z.object({
  tenant: z.string(),
  window: z.string(),
  start: z.number(),
  end: z.number(),
  key: z.string(),
  values: z.record(z.string(), z.number().nullable()),
  state: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  status: z.enum(['provisional', 'settled', 'amended']),
  version: z.number().int(),
});

const positionSchema = z.object({ offset: z.string().nullable(), watermark: z.number().nullable() });

const lastSchema = z.object({
  epoch: z.number().int(),
  from: positionSchema,
  to: positionSchema,
  maxEventTime: z.number().nullable(),
  traceId: z.string().optional(),
  removed: z.array(
    z.object({
      tenant: z.string(),
      stream: z.string(),
      window: z.string(),
      start: z.number(),
      key: z.string(),
    }),
  ),
  rows: z.array(storedRowSchema),
});

const text = (value: number | bigint | null) => (value === null ? '' : value.toString());
const numberOrNull = (value: string) => (value === '' ? null : Number(value));
const offsetOrNull = (value: string | null) => (value === null || value === '' ? null : BigInt(value));
const toPosition = (p: z.output<typeof positionSchema>): Position => ({
  offset: offsetOrNull(p.offset),
  watermark: p.watermark,
});

/** One row as JSON: written once, used both as the open window's value and inside `last`. */
function rowJson(row: StoredRow): string {
  const { tenant, window, start, end, key, values, state, status, version } = row;
  return JSON.stringify({ tenant, window, start, end, key, values, state, status, version });
}

function lastJson(commit: StateCommit, rows: readonly string[]): string {
  const position = (p: Position) => ({
    offset: p.offset === null ? null : p.offset.toString(),
    watermark: p.watermark,
  });
  const head = JSON.stringify({
    epoch: commit.epoch,
    from: position(commit.from),
    to: position(commit.to),
    maxEventTime: commit.maxEventTime,
    ...(commit.traceId === undefined ? {} : { traceId: commit.traceId }),
    removed: commit.removed,
  });
  return `${head.slice(0, -1)},"rows":[${rows.join(',')}]}`;
}

/** JSON, or undefined for text that is not (a damaged state fails its schema, never throws). */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A reply's string, or undefined (the script answers bulk strings, or numbers for flags). */
function replyText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : value instanceof Buffer ? value.toString() : undefined;
}

export interface StateStoreOptions {
  readonly redis: RedisClient;
  /** Redis key prefix; the topic prefix goes in too, so isolated pipelines never share state. */
  readonly prefix: string;
}

export function createStateStore(options: StateStoreOptions): StateStore {
  const take = redisScript(options.redis, TAKE_SCRIPT);
  const seed = redisScript(options.redis, SEED_SCRIPT);
  const commit = redisScript(options.redis, COMMIT_SCRIPT);
  const keysOf = (ref: PartitionRef) => {
    const tag = `${options.prefix}{${ref.group}|${ref.stream}|${ref.partition}}`;
    return [`${tag}:meta`, `${tag}:windows`, `${tag}:last`];
  };
  const idOf = (w: { tenant: string; window: string; start: number; key: string }) =>
    windowId(w.tenant, w.window, w.start, w.key);

  return {
    async take(ref, epoch) {
      const reply = await take(keysOf(ref), [epoch]);
      if (!Array.isArray(reply) || reply[0] !== 1) return fail({ fenced: true });
      if (reply.length === 1) return ok(null);
      const [next, watermark, maxEventTime, last, ...open] = reply.slice(1).map(replyText);
      if (next === undefined || watermark === undefined || maxEventTime === undefined) return ok(null);
      // A state that does not parse is treated as lost: the partition is rebuilt from PostgreSQL.
      const windows: StoredRow[] = [];
      for (const json of open) {
        const parsed = storedRowSchema.safeParse(parseJson(json));
        if (!parsed.success) return ok(null);
        windows.push(parsed.data);
      }
      const parsedLast =
        last === undefined || last === '' ? undefined : lastSchema.safeParse(parseJson(last));
      if (parsedLast !== undefined && !parsedLast.success) return ok(null);
      const lastCommit = parsedLast?.data;
      return ok({
        position: { offset: offsetOrNull(next), watermark: numberOrNull(watermark) },
        maxEventTime: numberOrNull(maxEventTime),
        windows,
        last:
          lastCommit === undefined
            ? null
            : {
                epoch: lastCommit.epoch,
                from: toPosition(lastCommit.from),
                to: toPosition(lastCommit.to),
                maxEventTime: lastCommit.maxEventTime,
                traceId: lastCommit.traceId,
                removed: lastCommit.removed,
                rows: lastCommit.rows,
              },
      });
    },

    async seed(ref, epoch, snapshot) {
      const args: (string | number)[] = [
        epoch,
        text(snapshot.position.offset),
        text(snapshot.position.watermark),
        text(snapshot.maxEventTime),
      ];
      for (const w of snapshot.windows) args.push(idOf(w), rowJson(w));
      return (await seed(keysOf(ref), args)) === 1 ? ok(undefined) : fail({ fenced: true });
    },

    async commit(ref, change) {
      const json = change.rows.map(rowJson);
      const open: (string | number)[] = [];
      const leaving: string[] = change.removed.map(idOf);
      change.rows.forEach((row, index) => {
        if (row.status === 'provisional') open.push(idOf(row), json[index] ?? '');
        else leaving.push(idOf(row));
      });
      const args: (string | number)[] = [
        change.epoch,
        text(change.from.offset),
        text(change.from.watermark),
        text(change.to.offset),
        text(change.to.watermark),
        text(change.maxEventTime),
        lastJson(change, json),
        open.length / 2,
        ...open,
        ...leaving,
      ];
      return (await commit(keysOf(ref), args)) === 1 ? ok(undefined) : fail({ fenced: true });
    },
  };
}
