// JSON log lines (pino) with level, service and ISO time; the level comes from the service config.
// Trace and span ids join each line once tracing wraps the logger (issue: observability).

import type { Logger } from 'pino';
import { pino } from 'pino';

export type { Logger };

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
