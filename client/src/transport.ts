// One batch to POST /v1/events (edge or ingest) as NDJSON, retried while the answer says so, and
// turned into one verdict per event.
//
// INVARIANT: a retry sends the same lines, so the same event ids: the pipeline's dedup (by id,
// within its horizon) counts an event once however many attempts reached Kafka. Only 429, 503 and
// no answer at all are retried (the intake admits or refuses a request whole, so nothing of a 429
// is in Kafka; a 503 or a lost answer may have been, and the ids make that safe). A 413 splits
// the batch in halves instead, down to single events.

import type { BackoffOptions } from './backoff.ts';
import { backoffMs, retryAfterMs } from './backoff.ts';
import { gzip } from './gzip.ts';
import type { EventVerdict, RequestError } from './verdict.ts';
import { envelopeOf, failedAll, rejectionsOf, verdictsOf } from './verdict.ts';

export interface TransportOptions {
  /** The edge or ingest: POST {url}/v1/events. */
  readonly url: string;
  readonly apiKey?: string;
  readonly gzip: boolean;
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly backoff: BackoffOptions;
  /** A Retry-After longer than this is not waited for: the events fail, retryable, with it. */
  readonly maxRetryAfterMs: number;
  /** Each attempt's time to an answer (a timeout is no answer: retried). */
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
  readonly sleep: (ms: number) => Promise<void>;
}

/** A batch: the events' ids and their NDJSON lines (each holding its id), in order. */
export interface Batch {
  readonly ids: readonly string[];
  readonly lines: readonly string[];
}

const RETRYABLE_STATUS = new Set([429, 503]);
const encoder = new TextEncoder();

type Attempt =
  | { readonly kind: 'verdicts'; readonly verdicts: EventVerdict[] }
  | { readonly kind: 'too_large'; readonly error: RequestError }
  | { readonly kind: 'failed'; readonly error: RequestError; readonly retryAfterMs?: number };

export async function sendBatch(batch: Batch, options: TransportOptions): Promise<EventVerdict[]> {
  const endpoint = new URL('/v1/events', options.url).toString();
  const raw = encoder.encode(`${batch.lines.join('\n')}\n`);
  // Compressed once: every attempt sends the same bytes.
  const body = options.gzip ? await gzip(raw) : raw;
  const headers: Record<string, string> = {
    'content-type': 'application/x-ndjson',
    ...(options.gzip ? { 'content-encoding': 'gzip' } : {}),
    ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
  };
  for (let attempt = 1; ; attempt += 1) {
    const outcome = await postOnce(endpoint, headers, body, batch.ids, attempt, options);
    if (outcome.kind === 'verdicts') return outcome.verdicts;
    if (outcome.kind === 'too_large') {
      if (batch.ids.length === 1) return failedAll(batch.ids, outcome.error, attempt);
      const half = Math.ceil(batch.ids.length / 2);
      const [first, second] = await Promise.all([
        sendBatch({ ids: batch.ids.slice(0, half), lines: batch.lines.slice(0, half) }, options),
        sendBatch({ ids: batch.ids.slice(half), lines: batch.lines.slice(half) }, options),
      ]);
      return [...first, ...second];
    }
    const { error } = outcome;
    if (!error.retryable || attempt > options.retries) return failedAll(batch.ids, error, attempt);
    if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > options.maxRetryAfterMs)
      return failedAll(batch.ids, { ...error, retryAfterMs: outcome.retryAfterMs }, attempt);
    await options.sleep(backoffMs(attempt, options.backoff, outcome.retryAfterMs));
  }
}

async function postOnce(
  endpoint: string,
  headers: Record<string, string>,
  body: Uint8Array<ArrayBuffer>,
  ids: readonly string[],
  attempt: number,
  options: TransportOptions,
): Promise<Attempt> {
  let response: Response;
  let json: unknown;
  try {
    response = await options.fetch(endpoint, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    json = await response.json().catch(() => undefined);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'failed', error: { code: 'network', message: `no answer: ${message}`, retryable: true } };
  }
  const { status } = response;
  if (status === 202) {
    const rejected = rejectionsOf(json);
    if (rejected !== undefined) return { kind: 'verdicts', verdicts: verdictsOf(ids, rejected, attempt) };
    return {
      kind: 'failed',
      error: { code: 'bad_answer', message: 'a 202 without `rejected`', status, retryable: false },
    };
  }
  const envelope = envelopeOf(json);
  // A 400 or 403 with per-event verdicts: every event was refused, each for its own reasons.
  const refused = rejectionsOf(envelope?.details);
  if ((status === 400 || status === 403) && refused !== undefined && refused.length === ids.length)
    return { kind: 'verdicts', verdicts: verdictsOf(ids, refused, attempt) };
  const error: RequestError = {
    code: envelope?.code ?? `http_${status}`,
    message: envelope?.message ?? `answered ${status}`,
    status,
    retryable: RETRYABLE_STATUS.has(status),
  };
  if (status === 413) return { kind: 'too_large', error };
  const wait = retryAfterMs(response.headers.get('retry-after'));
  return { kind: 'failed', error, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
}
