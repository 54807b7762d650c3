// Ingest's own metrics, registered beside the HTTP ones.

import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';

export interface IngestMetrics {
  readonly accepted: Counter<'stream'>;
  readonly rejected: Counter<'reason'>;
  readonly produceLatency: Histogram<'outcome'>;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    accepted: new Counter({
      name: 'sluice_events_accepted_total',
      help: 'Events acknowledged by Kafka and answered 202',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'sluice_events_rejected_total',
      help: 'Events rejected at intake, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    produceLatency: new Histogram({
      name: 'sluice_produce_latency_seconds',
      help: 'Time from produce to acks=all for one request',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
