// A request answered before Hono (traceAnsweredRequest) gets the span the middleware gives one
// answered by a route: the same name, kind, attributes and status, with the route's own extras.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Hono } from 'hono';
import { traceAnsweredRequest, traceRequests } from '../src/http/trace-middleware.ts';

const ROUTE = '/v1/streams/:stream/windows';

test('traceAnsweredRequest makes the span traceRequests makes for the same answer', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('test');
  const app = new Hono();
  app.use('*', traceRequests(tracer));
  app.get(ROUTE, (c) =>
    c.body(c.req.query('status') === '500' ? 'no' : 'yes', c.req.query('status') === '500' ? 500 : 200),
  );
  for (const status of [200, 500]) {
    exporter.reset();
    const target = `/v1/streams/ecommerce/windows?status=${status}`;
    const response = await app.request(target);
    assert.equal(response.status, status);
    traceAnsweredRequest(
      tracer,
      { method: 'GET', path: '/v1/streams/ecommerce/windows', headers: new Headers() },
      { route: ROUTE, status, attributes: { 'sluice.cache': 'hit' } },
    );
    const [routed, answered] = exporter.getFinishedSpans();
    assert.ok(routed !== undefined && answered !== undefined);
    assert.equal(answered.name, `GET ${ROUTE}`);
    assert.equal(answered.name, routed.name);
    assert.equal(answered.kind, SpanKind.SERVER);
    assert.equal(answered.kind, routed.kind);
    assert.deepEqual(answered.attributes, { ...routed.attributes, 'sluice.cache': 'hit' });
    assert.deepEqual(answered.status, routed.status);
    assert.equal(answered.status.code, status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
    assert.ok(answered.ended);
  }
  await provider.shutdown();
});
