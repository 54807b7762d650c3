// Log lines are JSON with level, service and time, and inside a span they carry its trace_id and
// span_id (a real tracer provider, no exporter: a pure unit).

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { boundString, createLogger, MAX_LOG_STRING, traceFields } from '../src/log.ts';

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

// Issue 20, item 8: no client string reaches a log line unbounded or unescaped.
test('a 100 KB value, control characters and newlines stay inside one bounded JSON line', () => {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk.toString());
      done();
    },
  });
  const log = createLogger('s', 'info', sink);
  const header = `${'h'.repeat(100_000)}\n{"level":"fatal","msg":"forged"}\r\u0000\u001b[31m`;
  const error = new Error(`bad input: ${header}`);
  log.warn({ userAgent: header, nested: { deeper: [header] }, err: error }, header);
  const text = out.join('');
  const lines = text.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, 'one line, whatever the value held');
  assert.ok(text.length < 12 * MAX_LOG_STRING, `${text.length} characters`);
  const line = JSON.parse(lines[0] ?? '{}') as {
    msg: string;
    userAgent: string;
    nested: { deeper: string[] };
    err: { message: string; stack: string };
  };
  for (const value of [
    line.msg,
    line.userAgent,
    line.nested.deeper[0] ?? '',
    line.err.message,
    line.err.stack,
  ]) {
    assert.ok(value.length <= MAX_LOG_STRING + 40, `${value.length} characters`);
  }
  assert.match(line.userAgent, /more chars\]$/);
  assert.equal(boundString('short'), 'short');
});
