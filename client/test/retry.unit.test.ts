// Unit: retries against a local node:http server that answers as the intake does, in turn, what
// each test scripts: only 429, 503 and no answer are retried, with the same body (so the same
// ids), never sooner than Retry-After; a 413 splits the batch; other refusals are verdicts.

import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { EventsOptions } from '../src/index.ts';
import { createEvents } from '../src/index.ts';

interface Received {
  readonly at: number;
  readonly ids: string[];
  readonly body: string;
}

type Answer = (res: ServerResponse, ids: string[]) => void;

let received: Received[] = [];
let script: Answer[] = [];
let url = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
    const ids = body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    received.push({ at: Date.now(), ids, body });
    const answer = script.shift() ?? accept;
    answer(res, ids);
  });
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const accept: Answer = (res, ids) => json(res, 202, { accepted: ids.length, ids, rejected: [] });
const error =
  (status: number, code: string, headers: Record<string, string> = {}, details?: unknown): Answer =>
  (res) =>
    json(
      res,
      status,
      { error: { code, message: `${code}!`, requestId: 'r', ...(details === undefined ? {} : { details }) } },
      headers,
    );
/** No answer: the connection is dropped (a crashed intake, a reset). */
const drop: Answer = (res) => res.socket?.destroy();

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  script = [];
});

const sleeps: number[] = [];
const options = (extra: Partial<EventsOptions> = {}): EventsOptions => ({
  url,
  lingerMs: 5,
  backoffBaseMs: 1,
  backoffCapMs: 5,
  ...extra,
});
const event = (n: number) => ({ stream: 'ecommerce', data: { n } });

async function sendAll(extra: Partial<EventsOptions>, count = 3) {
  const sender = createEvents(options(extra));
  const sent = [];
  for (let i = 0; i < count; i += 1) sent.push(await sender.send(event(i)));
  await sender.flush();
  return Promise.all(sent.map((s) => s.verdict));
}

describe('retries', () => {
  for (const status of [429, 503]) {
    it(`retries a ${status} with the same ids, and the events are accepted`, async () => {
      script = [error(status, status === 429 ? 'rate_limited' : 'unavailable'), error(status, 'again')];
      const verdicts = await sendAll({});
      assert.equal(received.length, 3);
      assert.deepEqual(received[1]?.ids, received[0]?.ids, 'a retry carries the same ids');
      assert.equal(received[2]?.body, received[0]?.body, 'and the same bytes');
      for (const v of verdicts) assert.deepEqual(v, { status: 'accepted', id: v.id, attempts: 3 });
    });
  }

  it('retries when no answer came (the connection dropped)', async () => {
    script = [drop];
    const verdicts = await sendAll({});
    assert.equal(received.length, 2);
    assert.deepEqual(received[1]?.ids, received[0]?.ids);
    assert.ok(verdicts.every((v) => v.status === 'accepted' && v.attempts === 2));
  });

  it('waits at least Retry-After (seconds) before the retry, whatever the backoff', async () => {
    script = [error(503, 'unavailable', { 'retry-after': '1' })];
    const verdicts = await sendAll({});
    assert.equal(received.length, 2);
    const gap = (received[1]?.at ?? 0) - (received[0]?.at ?? 0);
    assert.ok(gap >= 990, `retried after ${gap} ms (Retry-After: 1)`);
    assert.ok(verdicts.every((v) => v.status === 'accepted'));
  });

  it('takes Retry-After as an HTTP date too, and gives up (retryable) on one past maxRetryAfterMs', async () => {
    sleeps.length = 0;
    const later = new Date(Date.now() + 120_000).toUTCString();
    script = [error(429, 'rate_limited', { 'retry-after': later })];
    const verdicts = await sendAll({ maxRetryAfterMs: 30_000, sleep: async (ms) => void sleeps.push(ms) });
    assert.equal(received.length, 1, 'not retried: two minutes is past the 30 s it waits');
    for (const v of verdicts) {
      assert.equal(v.status, 'failed');
      if (v.status !== 'failed') continue;
      assert.equal(v.error.code, 'rate_limited');
      assert.equal(v.error.retryable, true);
      assert.ok((v.error.retryAfterMs ?? 0) > 100_000, `retryAfterMs ${v.error.retryAfterMs}`);
    }
    assert.deepEqual(sleeps, []);
  });

  it('stops after `retries` retries with a retryable failure', async () => {
    script = Array.from({ length: 10 }, () => error(503, 'unavailable'));
    const verdicts = await sendAll({ retries: 2 });
    assert.equal(received.length, 3);
    for (const v of verdicts) {
      assert.equal(v.status, 'failed');
      assert.equal(v.attempts, 3);
      if (v.status === 'failed')
        assert.deepEqual([v.error.code, v.error.status, v.error.retryable], ['unavailable', 503, true]);
    }
  });

  for (const [status, code] of [
    [401, 'unauthorized'],
    [408, 'request_timeout'],
    [500, 'internal'],
  ] as const) {
    it(`does not retry a ${status}: every event fails with ${code}`, async () => {
      script = [error(status, code)];
      const verdicts = await sendAll({});
      assert.equal(received.length, 1);
      for (const v of verdicts)
        assert.deepEqual(v, {
          status: 'failed',
          id: v.id,
          error: { code, message: `${code}!`, status, retryable: false },
          attempts: 1,
        });
    });
  }

  it('answers a 400 of per-event verdicts as refusals, not retried', async () => {
    const rejected = [0, 1, 2].map((index) => ({
      index,
      id: null,
      errors: [{ path: 'data.amount', message: `bad ${index}` }],
    }));
    script = [error(400, 'validation_failed', {}, { accepted: 0, rejected })];
    const verdicts = await sendAll({});
    assert.equal(received.length, 1);
    assert.deepEqual(
      verdicts.map((v) => (v.status === 'refused' ? v.errors[0]?.message : v.status)),
      ['bad 0', 'bad 1', 'bad 2'],
    );
  });

  it('splits a batch the intake found too large (413) and sends the halves, same ids', async () => {
    script = [error(413, 'payload_too_large')];
    const verdicts = await sendAll({}, 4);
    assert.equal(received.length, 3);
    assert.deepEqual(
      [...(received[1]?.ids ?? []), ...(received[2]?.ids ?? [])].sort(),
      [...(received[0]?.ids ?? [])].sort(),
    );
    assert.ok(verdicts.every((v) => v.status === 'accepted'));
  });

  it('fails a single event still too large, not retried', async () => {
    script = [error(413, 'payload_too_large')];
    const verdicts = await sendAll({}, 1);
    assert.equal(received.length, 1);
    assert.equal(verdicts[0]?.status === 'failed' ? verdicts[0].error.code : '', 'payload_too_large');
  });
});
