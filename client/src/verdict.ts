// What became of each event sent: the pipeline's own per-event verdicts (the 202's `rejected`, the
// 400/403's `details.rejected`), or why its request failed as a whole.

/** One error of a refused event, as the intake words it (`path` names the field). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** Why a request failed as a whole: the error envelope's code, or the client's own. */
export interface RequestError {
  /**
   * The server's error code (`payload_too_large`, `unauthorized`, `rate_limited`, `unavailable`,
   * ...), or the client's: `network` (no answer), `buffer_full` (the bounded buffer and its waiting
   * line were full), `closed` (sent after close()), `bad_answer` (an answer not in the API's shape).
   */
  readonly code: string;
  readonly message: string;
  /** The HTTP status of the last answer; absent when there was none. */
  readonly status?: number;
  /** Sending the same event again later may succeed (the same id keeps that safe). */
  readonly retryable: boolean;
  /** What the last answer's Retry-After asked for, in ms, when the client stopped waiting for it. */
  readonly retryAfterMs?: number;
}

export type EventVerdict =
  /**
   * Kafka acknowledged the event (acks=all). A retry of an id the pipeline already has is
   * accepted again here and dropped by the processor's dedup: the intake does not tell duplicates.
   */
  | { readonly status: 'accepted'; readonly id: string; readonly attempts: number }
  /** The pipeline refused this event (validation, tenant, size): the same event fails again. */
  | {
      readonly status: 'refused';
      readonly id: string;
      readonly errors: readonly FieldError[];
      readonly attempts: number;
    }
  /** Its request failed as a whole: the event is not known to be in the pipeline. */
  | {
      readonly status: 'failed';
      readonly id: string;
      readonly error: RequestError;
      readonly attempts: number;
    };

/** One per-event refusal of the intake's answers; `index` is within the request. */
export interface Rejection {
  readonly index: number;
  readonly errors: readonly FieldError[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const isFieldError = (value: unknown): value is FieldError =>
  isObject(value) && typeof value.path === 'string' && typeof value.message === 'string';

/** The `rejected` list of a 202 body or of a 400/403's details; undefined when there is none. */
export function rejectionsOf(value: unknown): Rejection[] | undefined {
  if (!isObject(value) || !Array.isArray(value.rejected)) return undefined;
  const out: Rejection[] = [];
  for (const item of value.rejected) {
    if (!isObject(item) || typeof item.index !== 'number' || !Array.isArray(item.errors)) return undefined;
    out.push({ index: item.index, errors: item.errors.filter(isFieldError) });
  }
  return out;
}

/** The error envelope `{ error: { code, message, details? } }`, or undefined for another shape. */
export function envelopeOf(
  body: unknown,
): { readonly code: string; readonly message: string; readonly details: unknown } | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  const { code, message, details } = body.error;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { code, message, details };
}

/**
 * Per-event verdicts of one request's answer: each event refused by index, every other one
 * accepted. `ids` are the request's events in order.
 */
export function verdictsOf(
  ids: readonly string[],
  rejected: readonly Rejection[],
  attempts: number,
): EventVerdict[] {
  const byIndex = new Map(rejected.map((r) => [r.index, r]));
  return ids.map((id, index) => {
    const rejection = byIndex.get(index);
    return rejection === undefined
      ? { status: 'accepted', id, attempts }
      : { status: 'refused', id, errors: rejection.errors, attempts };
  });
}

/** Every event of a request failed with the same error. */
export function failedAll(ids: readonly string[], error: RequestError, attempts: number): EventVerdict[] {
  return ids.map((id) => ({ status: 'failed', id, error, attempts }));
}
