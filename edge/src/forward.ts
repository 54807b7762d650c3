// Forwards a micro-batch of validated events to ingest as NDJSON and maps the answer back. Ingest
// answers 202 only after Kafka acked (acks=all), so a 202 here means durable.

import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { IntakeResponse } from '@sluice/shared/events/intake';
import type { ErrorEnvelope } from '@sluice/shared/http/error-envelope';
import type { AppError, Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import { withRetry } from '@sluice/shared/retry';
import { inSpan } from '@sluice/shared/telemetry/spans';
import { contextFrom, headersFor } from '@sluice/shared/telemetry/trace-context';

const tracer = trace.getTracer('sluice-edge');

export interface ForwardOptions {
  readonly ingestUrl: string;
  readonly retries: number;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  /** The edge's own key (events:relay), sent as Bearer on every forward; none with auth off. */
  readonly ingestKey?: string;
  /**
   * The runtime propagates trace context on fetch itself (Deno with OTEL_DENO): it adds the active
   * span's traceparent, so setting one here would send two.
   */
  readonly fetchPropagates?: boolean;
}

/** Sends one batch: its events as NDJSON lines (`toLine`), in order. */
export type Forward = (
  lines: readonly string[],
  traceparent?: string,
) => Promise<Result<IntakeResponse, AppError>>;

/** The envelope ingest re-validates: the id is fixed here, so every retry carries the same ids. */
export function toEnvelope(event: SluiceEvent) {
  return {
    id: event.id,
    stream: event.stream,
    time: event.time,
    data: event.data,
    tenant: event.tenant,
    ...(event.source === undefined ? {} : { source: event.source }),
  };
}

/** An event's NDJSON line for ingest (without the newline). */
export function toLine(event: SluiceEvent): string {
  return JSON.stringify(toEnvelope(event));
}

export function createForward(options: ForwardOptions): Forward {
  const doFetch = options.fetch ?? fetch;
  const url = new URL('/v1/events', options.ingestUrl).toString();
  const authorization: Record<string, string> =
    options.ingestKey === undefined ? {} : { authorization: `Bearer ${options.ingestKey}` };
  return (lines, traceparent) => {
    const body = `${lines.join('\n')}\n`;
    const deadline = Date.now() + options.timeoutMs;
    // One CLIENT span per forwarded batch (retries included), a child of the first request's span
    // in it; ingest continues from it (or from that request's context when no SDK runs).
    const attributes = { 'http.request.method': 'POST', 'url.full': url, 'sluice.events': lines.length };
    const parent = contextFrom(traceparent === undefined ? {} : { traceparent });
    return inSpan(
      tracer,
      'POST ingest /v1/events',
      { kind: SpanKind.CLIENT, attributes, parent },
      async (span) => {
        const carried =
          options.fetchPropagates === true
            ? undefined
            : (headersFor(context.active()).traceparent ?? traceparent);
        const result = await withRetry(
          async () => {
            let response: Response;
            try {
              response = await doFetch(url, {
                method: 'POST',
                headers: {
                  'content-type': 'application/x-ndjson',
                  ...authorization,
                  ...(carried === undefined ? {} : { traceparent: carried }),
                },
                body,
                signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
              });
            } catch (error) {
              return fail(
                appError(
                  'unavailable',
                  `ingest unreachable: ${error instanceof Error ? error.message : String(error)}`,
                ),
              );
            }
            if (response.status === 202) return ok((await response.json()) as IntakeResponse);
            const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
            const envelope = (await response.json().catch(() => undefined)) as ErrorEnvelope | undefined;
            const message = envelope?.error.message ?? `ingest answered ${response.status}`;
            if (response.status === 503 || response.status === 429 || response.status >= 500) {
              return fail(
                appError('unavailable', message, {
                  retryable: true,
                  ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
                }),
              );
            }
            // Ingest refused the edge's own key: the edge's fault, never the client's (whose key was
            // verified), so not a 401/403 to it; the operator sees it in the edge's error rate.
            if (response.status === 401 || response.status === 403) {
              return fail(
                appError('unavailable', "ingest refused the edge's relay key (SLUICE_EDGE_INGEST_KEY)", {
                  retryable: false,
                  retryAfterSeconds: 5,
                }),
              );
            }
            // 4xx: the same input fails the same way; the details go back to the client unchanged.
            return fail(
              appError(envelope?.error.code ?? 'bad_request', message, {
                retryable: false,
                details: envelope?.error.details,
              }),
            );
          },
          { retries: options.retries, baseMs: 50, capMs: 2_000, deadline },
        );
        if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.code });
        return result;
      },
    );
  };
}
