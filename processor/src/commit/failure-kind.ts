// What a failed store call means for the batch that made it: a data failure (PostgreSQL or Redis
// refuses what this batch holds, and would refuse it on every retry) or an outage (the store is
// away, busy or full: the same call succeeds later). Guarantee 4: a data failure must not stop a
// partition (its records are isolated to the DLQ, isolate.ts); an outage must not lose a record
// (the batch waits and is retried, as before). Anything not known to be data is an outage: a
// record is never dead-lettered for a failure that a retry could have cured.

/** The processor step whose store refused: PostgreSQL rows, Redis window state, Redis dedup claims. */
export type FailureStep = 'sink' | 'state' | 'dedup';

/** Why a store stands still, as readiness, metrics and logs name it. */
export type OutageCause =
  | 'oom'
  | 'loading'
  | 'readonly'
  | 'busy'
  | 'connection'
  | 'timeout'
  | 'shutdown'
  | 'resources'
  | 'serialization'
  | 'unknown';

export type FailureKind =
  | {
      readonly kind: 'data';
      readonly retryable: false;
      readonly step: FailureStep;
      /** The store's own words (SQLSTATE included for PostgreSQL), for the dead letter's reason. */
      readonly reason: string;
    }
  | {
      readonly kind: 'outage';
      readonly retryable: true;
      readonly step: FailureStep;
      readonly cause: OutageCause;
      readonly reason: string;
    };

/** A store call that failed, with its meaning attached: thrown through planning and committing. */
export class StoreFailure extends Error {
  readonly failure: FailureKind;
  constructor(failure: FailureKind) {
    super(`${failure.step} ${failure.kind}: ${failure.reason}`);
    this.failure = failure;
  }
}

/** The store of a step: PostgreSQL for the sink, Redis for the others. */
const storeOf = (step: FailureStep) => (step === 'sink' ? 'postgres' : 'redis');

/** Every error in a chain of causes (drizzle wraps postgres.js errors in its own). */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && out.length < 8) {
    out.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return out;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function sqlState(error: unknown): string | undefined {
  for (const e of chain(error)) {
    if (typeof e !== 'object' || e === null || !('code' in e)) continue;
    const code = (e as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * PostgreSQL by SQLSTATE class: 22 data exception (bad text, numbers out of range), 23 integrity
 * constraint violation, 54 program limit exceeded (54000: an index row too big) are the data's;
 * 40001/40P01 (serialization, deadlock), 08 (connection), 53 (insufficient resources), 57P0x
 * (shutdown), 57014 (statement timeout) and everything else are outages.
 */
function classifyPostgres(error: unknown, step: FailureStep): FailureKind {
  const code = sqlState(error);
  const reason = code === undefined ? messageOf(error) : `${messageOf(deepest(error))} (SQLSTATE ${code})`;
  const cls = code?.slice(0, 2);
  if (cls === '22' || cls === '23' || cls === '54') return { kind: 'data', retryable: false, step, reason };
  const cause: OutageCause =
    code === undefined
      ? connectionOrTimeout(error)
      : cls === '08'
        ? 'connection'
        : cls === '53'
          ? 'resources'
          : cls === '40'
            ? 'serialization'
            : code.startsWith('57P0')
              ? 'shutdown'
              : code === '57014'
                ? 'timeout'
                : 'unknown';
  return { kind: 'outage', retryable: true, step, cause, reason };
}

/** The innermost error of the chain: the driver's, with the server's message. */
function deepest(error: unknown): unknown {
  return chain(error).at(-1) ?? error;
}

function connectionOrTimeout(error: unknown): OutageCause {
  const text = chain(error).map(messageOf).join(' ');
  if (/timed? ?out|ETIMEDOUT/i.test(text)) return 'timeout';
  if (/ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH|closed|connect|writeable|socket|max retries/i.test(text))
    return 'connection';
  return 'unknown';
}

// Redis replies that a retry cures: memory full, loading its dataset, a read-only replica, a busy
// script, a cluster moving slots; the connection errors of ioredis come without a reply prefix.
const REDIS_OUTAGES: readonly (readonly [RegExp, OutageCause])[] = [
  [/\bOOM\b|used memory > 'maxmemory'/, 'oom'],
  [/\bLOADING\b/, 'loading'],
  [/\bREADONLY\b|\bMASTERDOWN\b/, 'readonly'],
  [/\bBUSY\b|\bTRYAGAIN\b|\bCLUSTERDOWN\b|\bMOVED\b|\bASK\b/, 'busy'],
];

// Redis refusing the data itself: cjson cannot read or write it, or a value is beyond Redis's
// limits. The same arguments fail the same way on every retry.
const REDIS_DATA =
  /cjson|Expected value but found|Expected (comma|colon|object key)|invalid (UTF-8|escape|unicode)|Cannot serialise|excessively sparse|string exceeds maximum allowed size|too many results to unpack|Protocol error/i;

function classifyRedis(error: unknown, step: FailureStep): FailureKind {
  const reason = messageOf(error);
  for (const [pattern, cause] of REDIS_OUTAGES)
    if (pattern.test(reason)) return { kind: 'outage', retryable: true, step, cause, reason };
  if (REDIS_DATA.test(reason)) return { kind: 'data', retryable: false, step, reason };
  return { kind: 'outage', retryable: true, step, cause: connectionOrTimeout(error), reason };
}

/** What an error thrown by `step`'s store means (a StoreFailure keeps the meaning it has). */
export function classifyFailure(error: unknown, step: FailureStep): FailureKind {
  if (error instanceof StoreFailure) return error.failure;
  return storeOf(step) === 'postgres' ? classifyPostgres(error, step) : classifyRedis(error, step);
}

/** Runs a store call; what it throws comes out as a StoreFailure naming its step and meaning. */
export async function asStep<T>(step: FailureStep, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreFailure) throw error;
    throw new StoreFailure(classifyFailure(error, step));
  }
}

/** The data failure carried by `error`, if that is what it is. */
export function dataFailureOf(error: unknown): (FailureKind & { kind: 'data' }) | undefined {
  return error instanceof StoreFailure && error.failure.kind === 'data' ? error.failure : undefined;
}

/** The outage carried by `error`, if that is what it is. */
export function outageOf(error: unknown): (FailureKind & { kind: 'outage' }) | undefined {
  return error instanceof StoreFailure && error.failure.kind === 'outage' ? error.failure : undefined;
}

/**
 * A reason as it may go in a log line or a header: control characters escaped, bounded. It can
 * quote the record's own text back (PostgreSQL's messages do).
 */
export function printable(text: string, max = 500): string {
  const escaped = JSON.stringify(text.length > max * 2 ? text.slice(0, max * 2) : text).slice(1, -1);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}
