// The local Jaeger is real: a span exported over OTLP/HTTP by the services' tracer provider is found
// again through Jaeger's v3 query API, with its service name and attributes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { startNodeTracing } from '../../../shared/src/telemetry/node-tracing.ts';
import { stackEnv, uniqueName, waitFor } from '../../../shared/test/harness.ts';

const env = stackEnv();

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string };
}
interface OtlpTraceResponse {
  result?: {
    resourceSpans?: {
      resource?: { attributes?: OtlpAttribute[] };
      scopeSpans?: {
        spans?: { traceId: string; spanId: string; name: string; attributes?: OtlpAttribute[] }[];
      }[];
    }[];
  };
}

test('a span exported over OTLP/HTTP is found through /api/v3/traces/{trace_id}', async () => {
  const serviceName = uniqueName('sluice-stack-test');
  const tracing = startNodeTracing({ serviceName, endpoint: env.otlpEndpoint, sampleRatio: 1 });
  const span = trace
    .getTracer('stack-test')
    .startSpan('stack check', { attributes: { 'sluice.check': 'jaeger' } });
  const { traceId, spanId } = span.spanContext();
  span.end();
  await tracing.shutdown();

  const body = await waitFor(
    async () => {
      const response = await fetch(`${env.jaegerQueryUrl}/api/v3/traces/${traceId}`);
      if (response.status !== 200) return undefined;
      return (await response.json()) as OtlpTraceResponse;
    },
    { timeoutMs: 20_000, what: `trace ${traceId} in Jaeger` },
  );

  const resourceSpans = body.result?.resourceSpans ?? [];
  assert.equal(resourceSpans.length, 1);
  const [resource] = resourceSpans;
  const service = resource?.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
  assert.equal(service, serviceName);
  const spans = resource?.scopeSpans?.flatMap((s) => s.spans ?? []) ?? [];
  assert.equal(spans.length, 1);
  const [found] = spans;
  assert.equal(found?.name, 'stack check');
  assert.equal(found?.spanId.toLowerCase(), spanId);
  assert.equal(found?.attributes?.find((a) => a.key === 'sluice.check')?.value.stringValue, 'jaeger');
});
