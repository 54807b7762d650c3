// Intake against hostile HTTP clients, on the real processes: ingest and the edge, each on both
// its runtimes (issue 20, items 4 and 8; issue 27 for ingest on Bun). A raw TCP client on
// 127.0.0.1 trickles headers or a body and is cut off; made-up methods do not make new metric
// series.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import type { Runtime, ServiceHandle } from '../../shared/test/services.ts';
import { deleteTopics, startService } from '../../shared/test/services.ts';
import { SUPPORTED_RUNTIMES } from '../../tools/services/launch.ts';

const stack = stackEnv();
const prefix = `${uniqueName('hostile')}.`;
// Short deadlines, so a slow sender is cut off within the test's patience.
const DEADLINES = { SLUICE_HEADERS_TIMEOUT_MS: '1000', SLUICE_BODY_READ_TIMEOUT_MS: '1500' };
// Bun closes a connection whose headers are not complete 8 to 12 s after it opened (its own fixed
// 10 s, which uWebSockets counts in ticks of 4 s), and a request unanswered that long unless the
// service says otherwise.
const BUN_IDLE_MS = 10_000;
const ingests = new Map<Runtime, ServiceHandle>();
const edges = new Map<Runtime, ServiceHandle>();
// Ingest on Bun with a body deadline past Bun's idle timeout: its 408 must still be written.
let slowBodyIngest: ServiceHandle;

before(async () => {
  const env = {
    SLUICE_KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    SLUICE_TOPIC_PREFIX: prefix,
    SLUICE_OTLP_ENDPOINT: stack.otlpEndpoint,
    ...DEADLINES,
  };
  for (const runtime of SUPPORTED_RUNTIMES.ingest)
    ingests.set(runtime, await startService('ingest', env, runtime));
  const ingestUrl = [...ingests.values()][0]?.url ?? '';
  for (const runtime of SUPPORTED_RUNTIMES.edge)
    edges.set(runtime, await startService('edge', { ...env, SLUICE_INGEST_URL: ingestUrl }, runtime));
  slowBodyIngest = await startService(
    'ingest',
    { ...env, SLUICE_BODY_READ_TIMEOUT_MS: String(BUN_IDLE_MS + 2_000) },
    'bun',
  );
});

after(async () => {
  await Promise.allSettled(
    [...ingests.values(), ...edges.values(), slowBodyIngest].map((service) => service?.stop()),
  );
  await deleteTopics(stack.kafkaBrokers, prefix);
});

/**
 * Sends `head` at once, then `trickle` one byte every `everyMs`, and returns what the server
 * answered (or '' if it closed without a word) and when, in ms after the first byte. With `first`,
 * that request goes first on the same connection and its answer is awaited: the trickle then
 * comes on a kept-alive connection, which a request before it may have given a longer timeout.
 */
function trickle(
  port: number,
  head: string,
  trickled: string,
  everyMs: number,
  first?: string,
): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve) => {
    let started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let waitingForFirst = first !== undefined;
    let at = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const finish = () => {
      clearInterval(timer);
      socket.destroy();
      resolve({ answer, ms: Date.now() - started });
    };
    const begin = () => {
      started = Date.now();
      socket.write(head);
      timer = setInterval(() => {
        // Bounded: the trickle never outlasts the test (and never finishes the request).
        if (at >= trickled.length || Date.now() - started > 15_000) return finish();
        socket.write(trickled[at] ?? '');
        at += 1;
      }, everyMs);
    };
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      // A complete answer: the status line and headers (and the small body that follows).
      if (!/\r\n\r\n/.test(answer)) return;
      if (!waitingForFirst) {
        setTimeout(finish, 100);
        return;
      }
      waitingForFirst = false;
      setTimeout(() => {
        answer = '';
        begin();
      }, 100);
    });
    socket.on('connect', () => {
      if (first === undefined) begin();
      else socket.write(first);
    });
  });
}

const BODY = `[${JSON.stringify({ stream: 'ecommerce', data: { x: 'y'.repeat(400) } })}]`;
const bodyHead = (length: number) =>
  `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

const HEADERS_HEAD = 'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n';
const SLOW_HEADER = `X-Slow: ${'a'.repeat(200)}`;

test('ingest on Node: headers that trickle are cut off with 408 at the header deadline', async () => {
  const service = ingests.get('node');
  assert.ok(service !== undefined);
  const { answer, ms } = await trickle(service.port, HEADERS_HEAD, SLOW_HEADER, 100);
  assert.match(answer, /^HTTP\/1\.1 408/, `answered: ${JSON.stringify(answer.slice(0, 200))} after ${ms} ms`);
  assert.ok(ms < 4_000, `${ms} ms`);
});

// Bun's header deadline is its own: fixed, and the connection closes without an answer. What is
// guaranteed is the bound: a trickle cannot hold the socket past it (the trickle runs to 15 s), on
// a fresh connection or after a request answered on it (ingest gives its requests a longer timeout
// while they are handled, which must not stay on the connection).
const AFTER = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
for (const [name, service, first] of [
  ['ingest on Bun', () => ingests.get('bun'), undefined],
  // The ingest whose requests get 18 s (a 12 s body deadline): past the bound if it stayed on.
  ['ingest on Bun, after a request on the same connection', () => slowBodyIngest, AFTER],
  ['the edge on Bun', () => edges.get('bun'), undefined],
] as const) {
  test(`${name}: headers that trickle are cut off at Bun's header deadline`, async () => {
    const target = service();
    assert.ok(target !== undefined);
    const { answer, ms } = await trickle(target.port, HEADERS_HEAD, SLOW_HEADER, 100, first);
    assert.ok(
      answer === '' || /^HTTP\/1\.1 408/.test(answer),
      `answered: ${JSON.stringify(answer.slice(0, 200))}`,
    );
    assert.ok(ms < BUN_IDLE_MS + 3_500, `${ms} ms`);
    if (first === undefined) assert.ok(ms >= BUN_IDLE_MS - 2_500, `${ms} ms`);
  });
}

for (const [name, service] of [
  ...SUPPORTED_RUNTIMES.ingest.map(
    (runtime) => [`ingest on ${runtime}`, () => ingests.get(runtime)] as const,
  ),
  ...SUPPORTED_RUNTIMES.edge.map((runtime) => [`the edge on ${runtime}`, () => edges.get(runtime)] as const),
]) {
  test(`${name}: a body that trickles is a 408 at the body deadline`, async () => {
    const target = service();
    assert.ok(target !== undefined);
    const { answer, ms } = await trickle(target.port, bodyHead(BODY.length), BODY, 100);
    assert.match(
      answer,
      /^HTTP\/1\.1 408/,
      `answered: ${JSON.stringify(answer.slice(0, 300))} after ${ms} ms`,
    );
    assert.match(answer, /"code":"request_timeout"/);
    assert.ok(ms >= 1_400 && ms < 5_000, `${ms} ms`);
  });
}

test("ingest on Bun: a body deadline past Bun's idle timeout still ends in its 408, not a closed socket", async () => {
  const { answer, ms } = await trickle(slowBodyIngest.port, bodyHead(BODY.length), BODY, 100);
  assert.match(answer, /^HTTP\/1\.1 408/, `answered: ${JSON.stringify(answer.slice(0, 300))} after ${ms} ms`);
  assert.match(answer, /"code":"request_timeout"/);
  assert.ok(ms >= BUN_IDLE_MS + 1_900, `${ms} ms`);
});

/** The number of series of the request counter a service exports. */
async function requestSeries(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith('sluice_http_requests_total{')).length;
}

/** A request with any method token, over a raw socket (fetch refuses some). */
function rawRequest(port: number, method: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('connect', () =>
      socket.end(
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      ),
    );
  });
}

describe('made-up methods do not grow the number of series', () => {
  for (const runtime of SUPPORTED_RUNTIMES.edge) {
    test(`the edge on ${runtime}`, async () => {
      const edge = edges.get(runtime);
      assert.ok(edge !== undefined);
      await rawRequest(edge.port, 'MADEUP', '/v1/events');
      await rawRequest(edge.port, 'GET', '/nowhere');
      // The scrape itself is a series (GET /metrics 200) from the first scrape on.
      await requestSeries(edge.url);
      const before = await requestSeries(edge.url);
      for (let i = 0; i < 50; i += 1) {
        const answer = await rawRequest(edge.port, `MADEUP${i}`, `/v1/events/${i}`);
        assert.match(answer, /^HTTP\/1\.1 [45]\d\d/);
      }
      assert.equal(await requestSeries(edge.url), before);
    });
  }
});
