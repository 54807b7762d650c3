// JSON log lines (pino) with level, service and ISO time; the level comes from the service config.
// A line written inside a span carries its trace_id and span_id, so a log line leads to its trace.

import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { pino } from 'pino';

export type { Logger };

/** The active span's ids, for a log line; nothing outside a span (or without a tracing SDK). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceFields,
  });
}
