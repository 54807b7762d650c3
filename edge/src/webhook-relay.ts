// Sends one verified webhook delivery on to ingest's POST /v1/webhooks/{id} unchanged: the exact
// raw bytes and the provider's headers, so ingest verifies the same signature again and answers
// after Kafka acked (guarantee 1). One delivery, one forward: no batching, the provider waits for
// this very answer. Web APIs only.

import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { AppError, Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import { withRetry } from '@sluice/shared/retry';
import { inSpan } from '@sluice/shared/telemetry/spans';
import { headersFor } from '@sluice/shared/telemetry/trace-context';

const tracer = trace.getTracer('sluice-edge');

/**
 * GitHub gives up on a delivery after 10 s (the tightest of the providers): the edge's retries of
 * ingest stop by 8 s, so the provider hears a 503 with Retry-After rather than a timeout.
 */
export const RELAY_BUDGET_MS = 8_000;

export interface RelayOptions {
  readonly ingestUrl: string;
  readonly retries: number;
  readonly budgetMs?: number;
  readonly fetch?: typeof fetch;
  /** The runtime adds the active span's traceparent to fetch itself (Deno with OTEL_DENO). */
  readonly fetchPropagates?: boolean;
}

/** Ingest's answer, passed to the provider as it is. */
export interface IngestAnswer {
  readonly status: number;
  readonly body: string;
  /** Content-Type, Retry-After and the RateLimit headers ingest set. */
  readonly headers: Readonly<Record<string, string>>;
}

export type RelayDelivery = (
  id: string,
  headers: Headers,
  body: Uint8Array<ArrayBuffer>,
) => Promise<Result<IngestAnswer, AppError>>;

/**
 * Not sent on: hop-by-hop headers (RFC 9110 7.6.1), what fetch sets itself (host, length), any
 * credential (a provider sends none; whatever one did is not ingest's business), and trace context
 * (the edge's own span continues the trace, set below or by the runtime).
 */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
  'authorization',
  'cookie',
  'traceparent',
  'tracestate',
]);

/** The provider's headers as ingest should see them. */
export function relayedHeaders(incoming: Headers): Headers {
  const named = new Set(
    (incoming.get('connection') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  );
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (!DROPPED.has(name) && !named.has(name)) out.append(name, value);
  }
  return out;
}

const PASSED_ON = ['content-type', 'retry-after', 'ratelimit-policy', 'ratelimit'] as const;

function answerHeaders(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of PASSED_ON) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

/** Only an outage is retried: a 503 or 502/504 from ingest, or no answer at all. */
const RETRIED = new Set([502, 503, 504]);

export function createRelay(options: RelayOptions): RelayDelivery {
  const doFetch = options.fetch ?? fetch;
  const budgetMs = options.budgetMs ?? RELAY_BUDGET_MS;
  return (id, incoming, body) => {
    const url = new URL(`/v1/webhooks/${id}`, options.ingestUrl).toString();
    const deadline = Date.now() + budgetMs;
    const attributes = { 'http.request.method': 'POST', 'sluice.webhook.source': id };
    return inSpan(
      tracer,
      'POST ingest /v1/webhooks/{id}',
      { kind: SpanKind.CLIENT, attributes },
      async (span) => {
        const headers = relayedHeaders(incoming);
        const traceparent =
          options.fetchPropagates === true ? undefined : headersFor(context.active()).traceparent;
        if (traceparent !== undefined) headers.set('traceparent', traceparent);
        // INVARIANT: every attempt carries the same bytes and delivery id, so a retry after a lost
        // answer is a redelivery to ingest (its ledger and the processor's dedup count it once).
        const result = await withRetry<IngestAnswer>(
          async () => {
            let response: Response;
            try {
              response = await doFetch(url, {
                method: 'POST',
                headers,
                body,
                signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
              });
            } catch (error) {
              return fail(
                appError(
                  'unavailable',
                  // Not the error's text: it names ingest's address, which is no provider's business.
                  `ingest unreachable${error instanceof Error && error.name === 'TimeoutError' ? ' (timed out)' : ''}`,
                  { retryable: true },
                ),
              );
            }
            const answer: IngestAnswer = {
              status: response.status,
              body: await response.text().catch(() => ''),
              headers: answerHeaders(response),
            };
            if (!RETRIED.has(response.status)) return ok(answer);
            const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
            return fail(
              appError('unavailable', 'the delivery cannot be recorded right now; retry later', {
                retryable: true,
                ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
              }),
            );
          },
          { retries: options.retries, baseMs: 50, capMs: 1_000, deadline },
        );
        span.setAttribute('http.response.status_code', result.ok ? result.value.status : 503);
        if (!result.ok || result.value.status >= 500)
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: result.ok ? 'ingest 5xx' : result.error.code,
          });
        // Out of budget: the provider is told when to come back (ingest's Retry-After, else 1 s);
        // it redelivers the same id, counted once.
        if (!result.ok)
          return fail({ ...result.error, retryAfterSeconds: result.error.retryAfterSeconds ?? 1 });
        return result;
      },
    );
  };
}
