// CloudEvents binary content mode as a unit (issue 22, item 5): Web Request objects built by the
// CloudEvents SDK itself (HTTP.binary / HTTP.structured), read by intake's own readEvents. The
// ce-* headers map onto the structured event validate.ts judges: percent-decoded, every missing
// attribute named, specversion 1.0 only, JSON data only, structured mode winning over ce-* headers,
// the same body bounds and tenant rule as every other format.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readEvents } from '@sluice/shared/events/intake';
import type { TenantRule, Verdicts } from '@sluice/shared/events/validate';
import { TENANT_REFUSED } from '@sluice/shared/events/validate';
import type { AppError, Result } from '@sluice/shared/result';
import { defineStream, tumbling } from '@sluice/shared/streams/define';
import { STREAMS, streamRegistry } from '@sluice/shared/streams/registry';
import { CloudEvent, HTTP } from 'cloudevents';
import { z } from 'zod';
import { ecommerceEvent, NOW } from './verdict.ts';

const LIMITS = {
  maxRequestBytes: 64 * 1024,
  maxEventBytes: 16 * 1024,
  maxEvents: 100,
  maxDepth: 32,
  bodyReadTimeoutMs: 5_000,
};

/** A stream without an event-time field: its event time is the envelope's (ce-time here). */
const untimed = defineStream({
  name: 'untimed',
  description: 'test',
  partitions: 1,
  schema: z.object({ k: z.string() }),
  keyBy: ['k'],
  windows: [tumbling('1m')],
  aggregations: [],
  watermark: '1m',
  allowedLateness: '0s',
});
const registry = streamRegistry([...STREAMS, untimed]);

const data = (id: string) => ecommerceEvent({ transaction_id: id }).data;

function sdkEvent(id: string, extra: Record<string, unknown> = {}) {
  return new CloudEvent({
    specversion: '1.0',
    id,
    source: '/shop/checkout',
    type: 'ecommerce',
    time: '2026-12-04T09:59:30.000Z',
    data: data(id),
    ...extra,
  });
}

function request(headers: Record<string, string>, body: RequestInit['body']): Request {
  return new Request('http://127.0.0.1/v1/events', { method: 'POST', headers, body, duplex: 'half' });
}

/** The headers and body the SDK sends in binary mode, as a Request (headers overridable). */
function binary(event: CloudEvent<unknown>, headers: Record<string, string | null> = {}): Request {
  const message = HTTP.binary(event);
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...message.headers, ...headers }))
    if (typeof value === 'string') merged[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(headers)) if (value === null) delete merged[name];
  return request(merged, String(message.body));
}

function read(req: Request, rule?: TenantRule): Promise<Result<Verdicts, AppError>> {
  return readEvents(req, registry, LIMITS, NOW, rule);
}

function refused(result: Result<Verdicts, AppError>): AppError {
  if (result.ok) assert.fail(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** The per-event errors of a request refused whole (its one event rejected). */
function eventErrors(result: Result<Verdicts, AppError>): { path: string; message: string }[] {
  const error = refused(result);
  assert.equal(error.code, 'validation_failed', error.message);
  const details = error.details as { rejected: { errors: { path: string; message: string }[] }[] };
  return details.rejected.flatMap((r) => r.errors);
}

test('the SDK binary mode: ce-type is the stream, ce-id and ce-source the identity, ce-tenant the tenant', async () => {
  const result = await read(binary(sdkEvent('bin-1', { tenant: 'acme' })));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.deepEqual(result.value.rejected, []);
  const [event] = result.value.accepted;
  assert.ok(event !== undefined);
  assert.equal(event.stream, 'ecommerce');
  assert.equal(event.id, 'bin-1');
  assert.equal(event.source, '/shop/checkout');
  assert.equal(event.tenant, 'acme');
  assert.deepEqual(event.data, data('bin-1'));
  // ecommerce takes its event time from data.timestamp, as in structured mode.
  assert.equal(event.time, Date.parse('2026-12-04T09:59:00Z'));
});

test('ce-time is the event time of a stream without a time field; ce-datacontenttype is not used', async () => {
  const event = new CloudEvent({
    id: 'untimed-1',
    source: '/test',
    type: 'untimed',
    time: '2026-12-04T09:58:00Z',
    data: { k: 'a' },
  });
  // A ce-datacontenttype saying XML changes nothing: Content-Type is the data's type.
  const result = await read(binary(event, { 'ce-datacontenttype': 'application/xml' }));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.accepted[0]?.time, Date.parse('2026-12-04T09:58:00Z'));
  const garbage = await read(binary(event, { 'ce-time': 'yesterday' }));
  assert.deepEqual(
    eventErrors(garbage).map((e) => e.path),
    ['time'],
  );
});

test('header values are percent-decoded as UTF-8; + stays a plus', async () => {
  const result = await read(
    binary(sdkEvent('x'), {
      'ce-id': 'order%2042%25+1',
      'ce-source': '/caf%C3%A9/%E4%B8%AD%E6%96%87%20x',
    }),
  );
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.accepted[0]?.id, 'order 42%+1');
  assert.equal(result.value.accepted[0]?.source, '/café/中文 x');
  // Decoded text is judged as any other: a NUL, however encoded, is refused (guarantee 4).
  const nul = await read(binary(sdkEvent('x'), { 'ce-source': '/a%00b' }));
  assert.deepEqual(
    eventErrors(nul).map((e) => e.path),
    ['source'],
  );
});

test('a malformed %-sequence or a raw non-ASCII byte is a 400 naming the header, never a throw', async () => {
  const cases: [string, string][] = [
    ['ce-id', '%'],
    ['ce-id', 'a%zzb'],
    ['ce-source', '%C3'],
    ['ce-source', '%ED%A0%80'],
    ['ce-type', '%C0%AF'],
    ['ce-tenant', '%FF'],
    ['ce-time', '2026-12-04T09:59:30Z%'],
    // Headers are byte strings: U+00E9 goes out as the single byte 0xE9, not percent-encoded.
    ['ce-source', '/caf\u00e9'],
    ['ce-id', 'a\u007fb'],
  ];
  for (const [header, value] of cases) {
    const result = await read(binary(sdkEvent('m'), { [header]: value }));
    const error = refused(result);
    assert.equal(error.code, 'bad_request', `${header}: ${JSON.stringify(value)}`);
    assert.deepEqual(error.details, { header });
    if (value.length > 2) assert.ok(!error.message.includes(value), 'the value is not echoed');
  }
  // An extension sluice does not read is not judged either.
  assert.ok((await read(binary(sdkEvent('m2'), { 'ce-other': '%zz' }))).ok);
});

test('a missing ce-id, ce-source or ce-type is a per-event error naming it', async () => {
  for (const missing of ['id', 'source', 'type']) {
    const errors = eventErrors(await read(binary(sdkEvent('n'), { [`ce-${missing}`]: null })));
    assert.deepEqual(
      errors.map((e) => e.path),
      [missing],
    );
    assert.match(errors[0]?.message ?? '', new RegExp(`the ce-${missing} header`));
  }
  const all = eventErrors(
    await read(binary(sdkEvent('n'), { 'ce-id': null, 'ce-source': null, 'ce-type': null })),
  );
  assert.deepEqual(all.map((e) => e.path).sort(), ['id', 'source', 'type']);
});

test('a ce-specversion other than 1.0 is a per-event error', async () => {
  for (const version of ['0.3', '1.1', '', '1', 'v1.0']) {
    const errors = eventErrors(await read(binary(sdkEvent('v'), { 'ce-specversion': version })));
    assert.deepEqual(
      errors.map((e) => [e.path, e.message]),
      [['specversion', "CloudEvents specversion must be '1.0'"]],
      version,
    );
  }
});

test('binary mode takes JSON data only: other types (text/plain above all) are 415', async () => {
  const body = JSON.stringify(data('t'));
  const ceHeaders = { 'ce-specversion': '1.0', 'ce-id': 't', 'ce-source': '/s', 'ce-type': 'ecommerce' };
  for (const type of [
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/x-ndjson',
    'application/octet-stream',
    'application/xml',
    'text/json',
    '+json',
  ]) {
    const error = refused(await read(request({ ...ceHeaders, 'content-type': type }, body)));
    assert.equal(error.code, 'unsupported_media_type', type);
    assert.deepEqual(error.details, { supported: ['application/json', 'application/*+json'] });
  }
  // No Content-Type at all: still the 'a Content-Type is required' refusal.
  const untyped = new Request('http://127.0.0.1/v1/events', {
    method: 'POST',
    headers: ceHeaders,
    body: new Blob([body]),
  });
  const none = refused(await read(untyped));
  assert.equal(none.code, 'unsupported_media_type');
  assert.match(none.message, /a Content-Type is required/);
  for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.shop+json']) {
    const result = await read(request({ ...ceHeaders, 'content-type': type }, body));
    assert.ok(result.ok, `${type}: ${result.ok ? '' : result.error.message}`);
  }
});

test('data must be an object for a stream: an array is one event refused, never a batch', async () => {
  const ceHeaders = {
    'ce-specversion': '1.0',
    'ce-id': 'arr',
    'ce-source': '/s',
    'ce-type': 'ecommerce',
    'content-type': 'application/json',
  };
  for (const body of [JSON.stringify([data('a'), data('b')]), '"text"', 'null', '42']) {
    const errors = eventErrors(await read(request(ceHeaders, body)));
    assert.ok(errors.length > 0 && errors.every((e) => e.path.startsWith('data')), body);
  }
  for (const body of ['', 'not json', '{"a":']) {
    const error = refused(await read(request(ceHeaders, body)));
    assert.equal(error.code, 'bad_request', JSON.stringify(body));
  }
  const unknown = eventErrors(await read(request({ ...ceHeaders, 'ce-type': 'nope' }, '{}')));
  assert.deepEqual(unknown, [{ path: 'stream', message: "unknown stream 'nope'" }]);
});

test('structured wins: ce-specversion with a cloudevents+json body is read as structured mode', async () => {
  const event = sdkEvent('structured-1');
  const message = HTTP.structured(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers))
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  // ce-* headers saying otherwise are not read: the body is the whole event.
  const result = await read(
    request(
      { ...headers, 'ce-specversion': '1.0', 'ce-id': 'from-header', 'ce-type': 'nope' },
      String(message.body),
    ),
  );
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.accepted[0]?.id, 'structured-1');
  assert.equal(result.value.accepted[0]?.stream, 'ecommerce');
  // A batch too.
  const batch = await read(
    request(
      { 'content-type': 'application/cloudevents-batch+json', 'ce-specversion': '1.0' },
      `[${String(message.body)}]`,
    ),
  );
  assert.ok(batch.ok);
  assert.equal(batch.value.accepted.length, 1);
});

test('without ce-specversion, stray ce-* headers are ignored and the body is an envelope', async () => {
  const result = await read(
    request(
      { 'content-type': 'application/json', 'ce-id': 'ignored', 'ce-type': 'nope' },
      JSON.stringify({ id: 'env-1', ...ecommerceEvent({ transaction_id: 'env-1' }) }),
    ),
  );
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.accepted[0]?.id, 'env-1');
  // And a non-CE request without a Content-Type keeps its refusal.
  const untyped = new Request('http://127.0.0.1/v1/events', { method: 'POST', body: new Blob(['{}']) });
  const none = refused(await read(untyped));
  assert.equal(none.message, 'a Content-Type is required');
});

test('the tenant rule of structured mode: ce-tenant must be the key tenant; none gets it', async () => {
  const KEY_ACME: TenantRule = { from: 'key', tenant: 'acme' };
  const own = await read(binary(sdkEvent('t1', { tenant: 'acme' })), KEY_ACME);
  assert.equal(own.ok ? own.value.accepted[0]?.tenant : undefined, 'acme');
  const none = await read(binary(sdkEvent('t2')), KEY_ACME);
  assert.equal(none.ok ? none.value.accepted[0]?.tenant : undefined, 'acme');
  const other = refused(await read(binary(sdkEvent('t3', { tenant: 'globex' })), KEY_ACME));
  assert.equal(other.code, 'forbidden');
  assert.deepEqual((other.details as { rejected: { errors: unknown[] }[] }).rejected[0]?.errors, [
    TENANT_REFUSED,
  ]);
  const bad = eventErrors(await read(binary(sdkEvent('t4'), { 'ce-tenant': 'bad%20tenant' })));
  assert.deepEqual(
    bad.map((e) => e.path),
    ['tenant'],
  );
});

test('the body bounds hold in binary mode: bytes, gzip bombs, the per-event size, the read time', async () => {
  const ceHeaders = {
    'ce-specversion': '1.0',
    'ce-id': 'big',
    'ce-source': '/s',
    'ce-type': 'ecommerce',
    'content-type': 'application/json',
  };
  const padded = (n: number) => JSON.stringify({ ...data('big'), padding: 'p'.repeat(n) });
  const tooBig = refused(await read(request(ceHeaders, padded(LIMITS.maxRequestBytes))));
  assert.equal(tooBig.code, 'payload_too_large');
  // 1 MiB of whitespace in ~1 KB of gzip stops at the request limit once inflated.
  const bomb = gzipSync(Buffer.from(`{${' '.repeat(1 << 20)}}`));
  assert.ok(bomb.byteLength < 4_096);
  const inflated = refused(await read(request({ ...ceHeaders, 'content-encoding': 'gzip' }, bomb)));
  assert.equal(inflated.code, 'payload_too_large');
  // gzip within the limits is read as any other body.
  const zipped = await read(
    request({ ...ceHeaders, 'content-encoding': 'gzip' }, gzipSync(Buffer.from(JSON.stringify(data('big'))))),
  );
  assert.ok(zipped.ok);
  // Between the per-event and the request limit: a per-event error, as in structured mode.
  const errors = eventErrors(await read(request(ceHeaders, padded(LIMITS.maxEventBytes))));
  assert.match(errors[0]?.message ?? '', /the limit is 16384/);
  // Attribute bytes count toward the event's size too: 500 bytes under the limit with short
  // attributes, over it with a 1,024-character ce-source.
  const near = padded(LIMITS.maxEventBytes - 500 - padded(0).length);
  assert.ok((await read(request(ceHeaders, near))).ok);
  assert.equal(
    refused(await read(request({ ...ceHeaders, 'ce-source': `/${'s'.repeat(1_023)}` }, near))).code,
    'validation_failed',
  );
  const encoder = new TextEncoder();
  const trickle = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.enqueue(encoder.encode(' '));
    },
  });
  const slow = refused(
    await readEvents(request(ceHeaders, trickle), registry, { ...LIMITS, bodyReadTimeoutMs: 200 }, NOW),
  );
  assert.equal(slow.code, 'request_timeout');
});
