// JSON log lines (pino) with level, service and ISO time; the level comes from the service config.
// A line written inside a span carries its trace_id and span_id, so a log line leads to its trace.
//
// INVARIANT: no client string reaches a log line unbounded or unescaped. Every line is one JSON
// object (pino escapes newlines and control characters inside strings, so a value cannot forge a
// line), and every string in it (the message, fields, an error's message and stack) is cut to
// MAX_LOG_STRING characters (log-bounds.ts). Messages are fixed text; client values go in fields.

import { trace } from '@opentelemetry/api';
import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';
import { boundFields, boundString } from './log-bounds.ts';
// Before any logger exists: pino reads it on every line.
import './telemetry/tracing-channel.ts';

export { boundFields, boundString, MAX_LOG_STRING } from './log-bounds.ts';
export type { Logger };

function boundError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  return boundFields(serialized) as Record<string, unknown>;
}

/** The active span's ids, for a log line; nothing outside a span (or without a tracing SDK). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** A service's logger; `destination` (stdout by default) is for tests. */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (fields: Record<string, unknown>) => boundFields(fields) as Record<string, unknown>,
    },
    serializers: {
      err: boundError,
      error: (e: unknown) => (e instanceof Error ? boundError(e) : boundFields(e)),
    },
    hooks: {
      // The message (and any interpolation arguments) bounded too.
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? boundString(arg) : arg)),
        );
      },
    },
    mixin: traceFields,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
