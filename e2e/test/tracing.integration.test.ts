// One event followed in Jaeger, against the real stack: sent to the edge (Deno, and again Bun) with
// a known W3C traceparent, it makes one trace holding the edge's spans, ingest's request and
// `send <topic>` spans and the processor's `process <topic>` span (a child of the producer span,
// carried in Kafka headers) with its Redis and PostgreSQL client spans and an `emit window` span
// linked to the event; the window row it lands in names that trace. A query request is a
// sluice-query trace whose span says whether the cache answered.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { topicNames } from '@sluice/shared/streams/registry';
import { stackEnv, waitFor } from '../../shared/test/harness.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { envelope, makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

const stack = stackEnv();
let p: TestPipeline;
let ingest: ServiceHandle;
let edge: ServiceHandle;
let bunEdge: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  // Root spans are never sampled here: only the client's sampled traceparent makes a trace.
  p = await testPipeline('tracing', { SLUICE_STREAMS: 'ecommerce', SLUICE_TRACE_SAMPLE_RATIO: '0' });
  ingest = await p.start('ingest');
  await p.start('processor');
  query = await p.start('query');
  edge = await p.start('edge', { SLUICE_INGEST_URL: ingest.url });
  bunEdge = await p.start('edge', { SLUICE_INGEST_URL: ingest.url }, 'bun');
});

after(() => p.close());

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number | string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
  links?: { traceId: string; spanId: string }[];
}

interface OtlpTrace {
  result?: {
    resourceSpans?: {
      resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
      scopeSpans?: { spans?: OtlpSpan[] }[];
    }[];
  };
}

const traceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};

async function traceSpans(traceId: string, ready: (spans: (OtlpSpan & { service: string })[]) => boolean) {
  return waitFor(
    async () => {
      const answer = await fetch(`${stack.jaegerQueryUrl}/api/v3/traces/${traceId}`);
      if (answer.status !== 200) return undefined;
      const found = spansOf((await answer.json()) as OtlpTrace);
      return ready(found) ? found : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `trace ${traceId} in Jaeger` },
  );
}

/** Every span of a trace with the service that sent it. */
function spansOf(body: OtlpTrace): (OtlpSpan & { service: string })[] {
  return (body.result?.resourceSpans ?? []).flatMap((rs) => {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
    return (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((span) => ({ ...span, service })));
  });
}

test('one event is one trace from the edge through ingest to the processor batch and its window row', {
  timeout: 120_000,
}, async () => {
  const traceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  const transaction = makeTransaction(seededRandom(5), `traced-${traceId.slice(0, 8)}`, Date.now() - 120_000);
  const response = await fetch(`${edge.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpanId}-01` },
    body: JSON.stringify(envelope(transaction)),
  });
  assert.equal(response.status, 202, await response.text());

  const [row] = await waitFor(
    async () => {
      const rows = await p.sql<{ trace_id: string | null }[]>`select trace_id from windows`;
      return rows.length > 0 ? rows : undefined;
    },
    { timeoutMs: 30_000, what: 'the window row' },
  );
  assert.equal(row?.trace_id, traceId, 'the window row names the trace of the batch that wrote it');

  const topic = topicNames('ecommerce', p.iso.topicPrefix).events;
  const spans = await waitFor(
    async () => {
      const answer = await fetch(`${stack.jaegerQueryUrl}/api/v3/traces/${traceId}`);
      if (answer.status !== 200) return undefined;
      const found = spansOf((await answer.json()) as OtlpTrace);
      const names = new Set(found.map((s) => s.name));
      return [
        'POST /v1/events',
        `send ${topic}`,
        `process ${topic}`,
        'write windows',
        'commit window state',
        'claim event ids',
        'POST ingest /v1/events',
        'emit window',
      ].every((n) => names.has(n)) &&
        // Deno exports the edge's request span when the response is sent, after the others.
        found.some((s) => s.service === 'sluice-edge' && s.parentSpanId?.toLowerCase() === clientSpanId)
        ? found
        : undefined;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: `trace ${traceId} in Jaeger with ingest and processor spans`,
    },
  );
  // By name among the services after the edge (whose route span shares the name of ingest's).
  const byName = new Map(spans.filter((s) => s.service !== 'sluice-edge').map((s) => [s.name, s]));
  const request = byName.get('POST /v1/events');
  const send = byName.get(`send ${topic}`);
  const processing = byName.get(`process ${topic}`);
  assert.equal(request?.service, 'sluice-ingest');
  const edgeSpans = spans.filter((s) => s.service === 'sluice-edge');
  assert.ok(
    edgeSpans.some((s) => s.parentSpanId?.toLowerCase() === clientSpanId),
    "the edge continues the client's trace",
  );
  assert.ok(
    edgeSpans.some((s) => s.spanId === request?.parentSpanId),
    'the ingest request descends from an edge span (the forwarded batch)',
  );
  assert.equal(send?.parentSpanId, request?.spanId, 'send is a child of the request');
  assert.equal(processing?.service, 'sluice-processor');
  assert.equal(
    processing?.parentSpanId,
    send?.spanId,
    'the batch descends from the producer span (Kafka headers)',
  );
  const emit = byName.get('emit window');
  assert.ok(
    emit?.links?.some((link) => link.spanId === send?.spanId),
    'the window emit links the producer span of an event that changed it',
  );
  for (const child of ['write windows', 'commit window state', 'claim event ids', 'emit window'])
    assert.equal(byName.get(child)?.parentSpanId, processing?.spanId, `${child} is a child of the batch`);
});

test('a query request is a sluice-query trace that says whether the cache answered', {
  timeout: 60_000,
}, async () => {
  // Absolute bounds: a relative range resolves to another key on every request.
  const to = Math.ceil(Date.now() / 60_000) * 60_000;
  const url = `${query.url}/v1/streams/ecommerce/windows?from=${to - 3_600_000}&to=${to}`;
  const ask = async () => {
    const tp = traceparent();
    const response = await fetch(url, { headers: { traceparent: tp.header } });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    return tp;
  };
  // The same query twice, the second within the provisional TTL (2 s): held in process, so it is
  // answered on the hit path (before Hono), which makes the same span the route's middleware does.
  const first = await ask();
  const second = await ask();
  const serverSpan = async (tp: { traceId: string; header: string }) => {
    const spans = await traceSpans(tp.traceId, (found) => found.some((s) => s.service === 'sluice-query'));
    const server = spans.find((s) => s.service === 'sluice-query');
    assert.equal(server?.name, 'GET /v1/streams/:stream/windows');
    assert.equal(server?.parentSpanId, tp.header.split('-')[2], "a child of the client's span");
    assert.match(String(server?.kind), /SERVER|^2$/);
    const attributes = new Map(
      (server?.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue]),
    );
    assert.equal(attributes.get('http.route'), '/v1/streams/:stream/windows');
    assert.equal(String(attributes.get('http.response.status_code')), '200');
    assert.equal(attributes.get('http.request.method'), 'GET');
    assert.equal(attributes.get('url.path'), '/v1/streams/ecommerce/windows');
    return attributes.get('sluice.cache');
  };
  assert.equal(await serverSpan(first), 'miss');
  assert.equal(await serverSpan(second), 'hit');
});

test('through the edge on Bun (its SDK from a preload) the trace goes on the same way', {
  timeout: 60_000,
}, async () => {
  const tp = traceparent();
  const clientSpanId = tp.header.split('-')[2] ?? '';
  const transaction = makeTransaction(
    seededRandom(6),
    `bun-traced-${tp.traceId.slice(0, 8)}`,
    Date.now() - 120_000,
  );
  const response = await fetch(`${bunEdge.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: tp.header },
    body: JSON.stringify(envelope(transaction)),
  });
  assert.equal(response.status, 202, await response.text());
  const spans = await traceSpans(tp.traceId, (found) => {
    const request = found.find((s) => s.service === 'sluice-ingest' && s.name === 'POST /v1/events');
    return found.some((s) => s.service === 'sluice-edge' && s.spanId === request?.parentSpanId);
  });
  const edgeSpans = spans.filter((s) => s.service === 'sluice-edge');
  const server = edgeSpans.find((s) => s.name === 'POST /v1/events');
  assert.equal(
    server?.parentSpanId?.toLowerCase(),
    clientSpanId,
    "the edge's request continues the client's",
  );
  const forward = edgeSpans.find((s) => s.name === 'POST ingest /v1/events');
  assert.equal(forward?.parentSpanId, server?.spanId, 'the forwarded batch is a child of its first request');
});

// Issue 23, item 2: header names are case-insensitive, and Python's urllib sends `Traceparent`
// (it capitalises every name it is given). The client's trace must go on through the edge on both
// runtimes however the name is written; Python itself sends it, so the bytes are a real client's.
const pythonPost = promisify(execFile);
const PYTHON_SEND = `
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method="POST")
req.add_header("content-type", "application/json")
req.add_header("traceparent", sys.argv[2])
print(urllib.request.urlopen(req).status)
`;

for (const [runtime, edgeOf] of [
  ['Deno', () => edge],
  ['Bun', () => bunEdge],
] as const) {
  test(`a client sending "Traceparent" (Python's urllib) has its trace continued by the edge on ${runtime}`, {
    timeout: 60_000,
  }, async () => {
    const tp = traceparent();
    const clientSpanId = tp.header.split('-')[2] ?? '';
    const transaction = makeTransaction(
      seededRandom(7),
      `py-traced-${runtime}-${tp.traceId.slice(0, 8)}`,
      Date.now() - 120_000,
    );
    const sent = await pythonPost('python3', [
      '-c',
      PYTHON_SEND,
      `${edgeOf().url}/v1/events`,
      tp.header,
      JSON.stringify(envelope(transaction)),
    ]);
    assert.equal(sent.stdout.trim(), '202');
    // Deno exports the edge's spans when the response is sent, after ingest's: wait for both.
    const spans = await traceSpans(
      tp.traceId,
      (found) =>
        found.some((s) => s.service === 'sluice-ingest' && s.name === 'POST /v1/events') &&
        found.some((s) => s.service === 'sluice-edge' && s.parentSpanId?.toLowerCase() === clientSpanId),
    ).catch(() => []);
    const edgeSpans = spans.filter((s) => s.service === 'sluice-edge');
    assert.ok(
      edgeSpans.some((s) => s.parentSpanId?.toLowerCase() === clientSpanId),
      `an edge span is a child of the client's span (edge spans in the trace: ${edgeSpans.map((s) => s.name).join(', ') || 'none'})`,
    );
    // The forward's request is ingest's parent, or Deno's own fetch span under it is.
    const forward = edgeSpans.find((s) => s.name === 'POST ingest /v1/events');
    const ingestRequest = spans.find((s) => s.service === 'sluice-ingest' && s.name === 'POST /v1/events');
    const parent = edgeSpans.find((s) => s.spanId === ingestRequest?.parentSpanId);
    assert.ok(
      forward !== undefined && (parent === forward || parent?.parentSpanId === forward.spanId),
      "ingest's request is a child of the edge's forward",
    );
  });
}
