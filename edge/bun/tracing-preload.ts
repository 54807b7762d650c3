// Tracing for the edge on Bun, loaded with `bun --preload` before the edge itself: the edge's code
// stays Web-API only (it runs on Workers runtimes too) and uses @opentelemetry/api alone, which
// this SDK then backs. Deno needs none of this: its built-in OpenTelemetry (OTEL_DENO) does it.

import { startNodeTracing } from '@sluice/shared/telemetry/node-tracing';

const ratio = Number(process.env.SLUICE_TRACE_SAMPLE_RATIO ?? '1');
// Spans still buffered when the edge exits are dropped (the export delay is 0.5 s).
startNodeTracing({
  serviceName: 'sluice-edge',
  endpoint: process.env.SLUICE_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318',
  sampleRatio: Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1,
});
