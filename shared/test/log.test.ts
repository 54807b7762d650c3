// Log lines are JSON with level, service and time, and inside a span they carry its trace_id and
// span_id (a real tracer provider, no exporter: a pure unit).

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { traceFields } from '../src/log.ts';

test('inside a span a log line carries trace_id and span_id; outside it carries none', () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracer = new TracerProvider().getTracer('log-test');
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ base: { service: 's' }, mixin: traceFields }, sink);
  log.info('outside');
  const span = tracer.startSpan('work');
  context.with(trace.setSpan(context.active(), span), () => log.info('inside'));
  span.end();
  assert.equal(lines[0]?.trace_id, undefined);
  assert.equal(lines[1]?.trace_id, span.spanContext().traceId);
  assert.equal(lines[1]?.span_id, span.spanContext().spanId);
  assert.equal(lines[1]?.service, 's');
  context.disable();
});
