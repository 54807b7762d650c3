// Tracing for the Node services: @opentelemetry/sdk-node exporting OTLP/HTTP (Jaeger on
// 127.0.0.1:4318 by default) with a parent-based ratio sampler, so a sampled client trace is
// always followed and new roots are sampled at `sampleRatio`.

import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface NodeTracingOptions {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** Base URL of an OTLP/HTTP collector; spans go to `${endpoint}/v1/traces`. */
  readonly endpoint: string;
  readonly sampleRatio: number;
}

export interface Tracing {
  /** Exports what is buffered and stops; idempotent. */
  shutdown(): Promise<void>;
}

export function startNodeTracing(options: NodeTracingOptions): Tracing {
  const exporter = new OTLPTraceExporter({ url: new URL('/v1/traces', options.endpoint).toString() });
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.0.0',
    }),
    autoDetectResources: false,
    // NOTE: bounded queue (BatchSpanProcessor drops past maxQueueSize) keeps tracing from growing
    // memory when the collector is down (guarantee 5).
    spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 4096, scheduledDelayMillis: 500 })],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    // Traces only: logs go to stdout as JSON lines, metrics to /metrics.
    logRecordProcessors: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    shutdown: () => {
      stopped ??= sdk.shutdown();
      return stopped;
    },
  };
}
