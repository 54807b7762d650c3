// Ingest's own metrics, registered beside the HTTP ones.

import type { IntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { createIntakeMetrics } from '@sluice/shared/events/intake-metrics';
import { LATENCY_BUCKETS } from '@sluice/shared/http/metrics';
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';

export interface IngestMetrics extends IntakeMetrics {
  readonly produceLatency: Histogram<'outcome'>;
  /** Producer clients replaced after a fatal error (each one a burst of 503s). */
  readonly producerRenewals: Counter;
  readonly webhooks: {
    /** Verified deliveries by provider and outcome (accepted, redelivered, challenge, invalid). */
    readonly outcomes: Counter<'provider' | 'outcome'>;
    /** Refused deliveries by provider and reason (bad_signature, stale_timestamp, ...). */
    readonly refusals: Counter<'provider' | 'reason'>;
  };
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    ...createIntakeMetrics(registry),
    produceLatency: new Histogram({
      name: 'sluice_produce_latency_seconds',
      help: 'Time from produce to acks=all for one request',
      labelNames: ['outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    producerRenewals: new Counter({
      name: 'sluice_producer_renewals_total',
      help: 'Kafka producer clients replaced after a fatal error',
      registers: [registry],
    }),
    webhooks: {
      outcomes: new Counter({
        name: 'sluice_webhook_deliveries_total',
        help: 'Verified webhook deliveries by provider and outcome',
        labelNames: ['provider', 'outcome'] as const,
        registers: [registry],
      }),
      refusals: new Counter({
        name: 'sluice_webhook_refusals_total',
        help: 'Webhook deliveries refused by provider and reason',
        labelNames: ['provider', 'reason'] as const,
        registers: [registry],
      }),
    },
  };
}
