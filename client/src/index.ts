// @sluice/client: send events to sluice (edge or ingest) and read its windows (query). Web APIs
// only (fetch, CompressionStream, crypto.randomUUID): Node, Bun, Deno and browsers alike.
//
//   const sluice = createSluiceClient({ ingestUrl: 'http://127.0.0.1:8787', queryUrl: 'http://127.0.0.1:8081', apiKey });
//   const { verdict } = await sluice.events.send({ stream: 'ecommerce', data: { ... } });
//   await sluice.events.flush();
//   console.log(await verdict);        // { status: 'accepted', id, attempts }
//   const { data } = await sluice.query.windows('ecommerce', { from: '-15m' });

import type { EventInput } from './event-input.ts';
import type { EventSender, SenderOptions } from './event-sender.ts';
import { createEventSender } from './event-sender.ts';
import type { QueryClient } from './query-client.ts';
import { createQueryClient } from './query-client.ts';

export type { CloudEventInput, EventInput, SluiceEventInput } from './event-input.ts';
export type { EventSender, Sent } from './event-sender.ts';
export { createEventSender } from './event-sender.ts';
export type {
  ErrorEnvelope,
  QueryClient,
  QueryClientOptions,
  StreamDetail,
  TopQuery,
  TopResponse,
  Usage,
  WindowRow,
  WindowsQuery,
  WindowsResponse,
} from './query-client.ts';
export { createQueryClient } from './query-client.ts';
export type { EventVerdict, FieldError, RequestError } from './verdict.ts';

export interface EventsOptions {
  /** Where events go: the edge or ingest (POST {url}/v1/events). */
  readonly url: string;
  /** An events:write key; sent as Authorization: Bearer (never logged by the client). */
  readonly apiKey?: string;
  /** Gzip each batch (Content-Encoding: gzip). Default true. */
  readonly gzip?: boolean;
  /** A batch leaves at this many events (default 500; the intake takes 10,000 at most). */
  readonly maxBatchEvents?: number;
  /** ... or this many bytes of NDJSON before gzip (default 1 MiB; the intake takes 10 MiB). */
  readonly maxBatchBytes?: number;
  /** ... or this long after its first event (default 50 ms). */
  readonly lingerMs?: number;
  /** Batches travelling at once (default 2). */
  readonly maxInFlight?: number;
  /** Events queued and in flight at most (default 10,000): send() waits beyond. */
  readonly maxBufferedEvents?: number;
  /** Their bytes at most (default 16 MiB). */
  readonly maxBufferedBytes?: number;
  /** Sends waiting for room at most (default 1,000); one more fails at once with buffer_full. */
  readonly maxWaiting?: number;
  /** Retries of a 429, a 503 or no answer (default 6). */
  readonly retries?: number;
  /** First backoff ceiling and cap (default 100 ms and 5 s; full jitter, Retry-After honoured). */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** A longer Retry-After fails the events (retryable) instead of waiting (default 30 s). */
  readonly maxRetryAfterMs?: number;
  /** Each attempt's time to an answer (default 30 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  /**
   * The id of an event given none, made once when it is queued (default crypto.randomUUID). A
   * stream that takes its id from a payload field dedups by that field only if this returns it.
   */
  readonly newId?: (event: EventInput) => string;
  /** For tests: sleep and jitter. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const COUNTS = [
  'maxBatchEvents',
  'maxBatchBytes',
  'maxInFlight',
  'maxBufferedEvents',
  'maxBufferedBytes',
] as const;

export function senderOptions(options: EventsOptions): SenderOptions {
  // A zero here would stall the sender for good (no batch could ever leave): refused at once.
  for (const name of COUNTS) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1))
      throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  }
  return {
    url: options.url,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    gzip: options.gzip ?? true,
    maxBatchEvents: options.maxBatchEvents ?? 500,
    maxBatchBytes: options.maxBatchBytes ?? 1024 * 1024,
    lingerMs: options.lingerMs ?? 50,
    maxInFlight: options.maxInFlight ?? 2,
    maxBufferedEvents: options.maxBufferedEvents ?? 10_000,
    maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
    maxWaiting: options.maxWaiting ?? 1_000,
    retries: options.retries ?? 6,
    backoff: {
      baseMs: options.backoffBaseMs ?? 100,
      capMs: options.backoffCapMs ?? 5_000,
      ...(options.random === undefined ? {} : { random: options.random }),
    },
    maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
    timeoutMs: options.timeoutMs ?? 30_000,
    // Bound to globalThis: a bare `fetch` taken off its object throws in browsers ("Illegal invocation").
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    sleep: options.sleep ?? sleep,
    newId: options.newId ?? (() => crypto.randomUUID()),
  };
}

export function createEvents(options: EventsOptions): EventSender {
  return createEventSender(senderOptions(options));
}

export interface SluiceClientOptions {
  /** The edge or ingest, for events. */
  readonly ingestUrl?: string;
  /** The query service, for reads. */
  readonly queryUrl?: string;
  /** One key for both (events:write and windows:read), unless `events`/`query` name their own. */
  readonly apiKey?: string;
  readonly events?: Omit<EventsOptions, 'url'>;
  readonly fetch?: typeof fetch;
}

export interface SluiceClient {
  readonly events: EventSender;
  readonly query: QueryClient;
  close(): Promise<void>;
}

export function createSluiceClient(options: SluiceClientOptions): SluiceClient {
  const apiKey = options.apiKey === undefined ? {} : { apiKey: options.apiKey };
  const doFetch = options.fetch === undefined ? {} : { fetch: options.fetch };
  const events = createEvents({
    url: options.ingestUrl ?? 'http://127.0.0.1:8787',
    ...apiKey,
    ...doFetch,
    ...options.events,
  });
  const query = createQueryClient({
    url: options.queryUrl ?? 'http://127.0.0.1:8081',
    ...apiKey,
    ...doFetch,
  });
  return { events, query, close: () => events.close() };
}
