// Intake counters shared by ingest and the edge (Prometheus, one registry per service): accepted
// events by stream, rejected ones by reason, counted the same way wherever intake answers.

import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { AppError, Result } from '../result.ts';
import type { Verdicts } from './validate.ts';

export interface IntakeMetrics {
  readonly accepted: Counter<'stream'>;
  readonly rejected: Counter<'reason'>;
}

export function createIntakeMetrics(registry: Registry): IntakeMetrics {
  return {
    accepted: new Counter({
      name: 'sluice_events_accepted_total',
      help: 'Events acknowledged durable (Kafka acks=all, through ingest on the edge) and answered 202',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'sluice_events_rejected_total',
      help: 'Events rejected at intake, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

/** Counts what `readEvents` decided: a whole-request error, or the per-event rejections. */
export function countRead(metrics: IntakeMetrics, read: Result<Verdicts, AppError>): void {
  if (!read.ok) {
    metrics.rejected.inc({ reason: read.error.code }, rejectedCount(read.error.details));
    return;
  }
  if (read.value.rejected.length > 0)
    metrics.rejected.inc({ reason: 'validation_failed' }, read.value.rejected.length);
}

/** Counts events answered 202, by stream. */
export function countAccepted(metrics: IntakeMetrics, events: readonly { readonly stream: string }[]): void {
  const perStream = new Map<string, number>();
  for (const event of events) perStream.set(event.stream, (perStream.get(event.stream) ?? 0) + 1);
  for (const [stream, count] of perStream) metrics.accepted.inc({ stream }, count);
}

// A request whose events were all invalid carries them in details.rejected; other errors are one.
function rejectedCount(details: unknown): number {
  if (typeof details === 'object' && details !== null && 'rejected' in details) {
    const rejected = (details as { rejected: unknown }).rejected;
    if (Array.isArray(rejected)) return rejected.length;
  }
  return 1;
}
