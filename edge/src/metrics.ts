// The edge's metrics (prom-client, which runs on Deno and on Bun): intake counters shared with
// ingest, the forward to ingest timed per micro-batch, and webhook refusals. Created by main.ts only, so app.ts
// keeps to Web APIs and a Workers deployment can hand it other counters.

import type { IntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { createHttpMetrics, LATENCY_BUCKETS } from '@sluice/shared/http/metrics';
import { Counter, Histogram } from 'prom-client';
import type { Forward } from './forward.ts';

export interface EdgeMetrics {
  readonly http: HttpMetrics;
  readonly intake: IntakeMetrics;
  readonly forwardLatency: Histogram<'outcome'>;
  readonly forwardBatch: Histogram;
  /** Deliveries refused at the edge (never reaching ingest), by provider and reason. */
  readonly webhookRefusals: Counter<'provider' | 'reason'>;
}

export function createEdgeMetrics(): EdgeMetrics {
  const http = createHttpMetrics('sluice-edge');
  return {
    http,
    intake: createIntakeMetrics(http.registry),
    forwardLatency: new Histogram({
      name: 'sluice_forward_latency_seconds',
      help: 'Time from forwarding a micro-batch to ingest until ingest acked it (acks=all), retries included',
      labelNames: ['outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [http.registry],
    }),
    forwardBatch: new Histogram({
      name: 'sluice_forward_batch_events',
      help: 'Events per micro-batch forwarded to ingest',
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 5_000],
      registers: [http.registry],
    }),
    // The name and labels of ingest's: one query sums refusals wherever they happened. Labels are
    // enums only (guarantee 5): never the source id, which a caller picks.
    webhookRefusals: new Counter({
      name: 'sluice_webhook_refusals_total',
      help: 'Webhook deliveries refused by provider and reason',
      labelNames: ['provider', 'reason'] as const,
      registers: [http.registry],
    }),
  };
}

/** The same forward, timed and sized per micro-batch. */
export function timedForward(forward: Forward, metrics: EdgeMetrics): Forward {
  return async (lines, traceparent) => {
    const started = performance.now();
    const result = await forward(lines, traceparent);
    metrics.forwardLatency.observe(
      { outcome: result.ok ? 'ok' : 'error' },
      (performance.now() - started) / 1000,
    );
    metrics.forwardBatch.observe(lines.length);
    return result;
  };
}
