// The processor's metrics, served at /metrics on its health port.

import { collectRuntimeMetrics } from '@sluice/shared/telemetry/runtime-metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ProcessorMetrics {
  readonly registry: Registry;
  readonly events: Counter<'stream' | 'outcome'>;
  readonly windowsWritten: Counter<'stream' | 'status'>;
  readonly sinkLatency: Histogram<'outcome'>;
  readonly watermarkLag: Gauge<'topic' | 'partition'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly fenced: Counter<'topic' | 'store'>;
  readonly stateLoads: Counter<'source'>;
  readonly assigned: Gauge;
  readonly cacheBumps: Counter<'outcome'>;
  readonly liveUpdates: Counter<'outcome'>;
  readonly isolated: Counter<'stream' | 'step'>;
  readonly storeRefusals: Counter<'store' | 'cause'>;
  readonly stalled: Gauge<'store' | 'cause'>;
}

export function createProcessorMetrics(): ProcessorMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'sluice-processor' });
  collectRuntimeMetrics(registry);
  return {
    registry,
    events: new Counter({
      name: 'sluice_processor_events_total',
      help: 'Records handled, by outcome (processed, dlq, late, skipped, duplicate, rejected by a data-quality rule)',
      labelNames: ['stream', 'outcome'] as const,
      registers: [registry],
    }),
    windowsWritten: new Counter({
      name: 'sluice_window_emits_total',
      help: 'Window rows written to PostgreSQL, by status',
      labelNames: ['stream', 'status'] as const,
      registers: [registry],
    }),
    sinkLatency: new Histogram({
      name: 'sluice_sink_latency_seconds',
      help: 'Time of the PostgreSQL transaction that commits rows and offsets',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    watermarkLag: new Gauge({
      name: 'sluice_watermark_lag_seconds',
      help: 'Wall clock minus the partition watermark',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'sluice_consumer_lag',
      help: 'Records in the partition not yet committed by this worker (end offset minus next offset)',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    assigned: new Gauge({
      name: 'sluice_processor_assigned_partitions',
      help: 'Partitions this worker owns in its consumer group',
      registers: [registry],
    }),
    cacheBumps: new Counter({
      name: 'sluice_processor_cache_invalidations_total',
      help: 'Cache generation bumps for amended windows (ok, retry, dropped)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    liveUpdates: new Counter({
      name: 'sluice_processor_live_updates_total',
      help: 'Window updates appended to the live feed after their commit (ok, dropped while Redis is away)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    fenced: new Counter({
      name: 'sluice_processor_fenced_total',
      help: 'Commits refused because another worker owns the partition now (or Redis lost its state), by the store that refused',
      labelNames: ['topic', 'store'] as const,
      registers: [registry],
    }),
    isolated: new Counter({
      name: 'sluice_processor_isolated_total',
      help: 'Records a store refused for their data, isolated from their batch to the DLQ, by the step that refused (sink, state, dedup)',
      labelNames: ['stream', 'step'] as const,
      registers: [registry],
    }),
    storeRefusals: new Counter({
      name: 'sluice_processor_store_refusals_total',
      help: 'Batches stopped by a store outage (retried), by store and cause (oom, loading, readonly, busy, connection, timeout, shutdown, resources, serialization, unknown)',
      labelNames: ['store', 'cause'] as const,
      registers: [registry],
    }),
    stalled: new Gauge({
      name: 'sluice_processor_stalled',
      help: "1 while a store refuses the processor's writes (batches wait and retry), by store and cause",
      labelNames: ['store', 'cause'] as const,
      registers: [registry],
    }),
    stateLoads: new Counter({
      name: 'sluice_processor_state_loads_total',
      help: 'Partitions taken over, by where their working state came from (redis, or rebuilt from postgres)',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
  };
}
