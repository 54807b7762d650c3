// Property test (fast-check) of the query routes under generated hostile query strings (guarantee
// 5): whatever parameters, values, repetitions and encodings a client sends to windows, top and
// live, the answer comes within 5 s and is a 200 or a 400 in the envelope (live: 429 or 503 with
// Retry-After past its caps too), never a 500 or a hang.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { QueryHarness } from './in-process.ts';
import { startQuery } from './in-process.ts';

let h: QueryHarness;

before(async () => {
  h = await startQuery('hostileprop');
});

after(() => h.close());

const WORST = [
  '',
  '0',
  '-1',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '9'.repeat(400),
  '9999999999999999',
  '-99999999999d',
  'now',
  '-15m',
  '1m',
  '0m',
  '366d',
  '367d',
  '1d',
  'none',
  'product_category',
  'product_category=Books',
  'product_category=A|B',
  'count,sum_amount',
  'Europe/Paris',
  'europe/paris',
  'Mars/Olympus',
  '0-0',
  '1-1',
  '18446744073709551615-18446744073709551615',
  '18446744073709551616-0',
  'WzAsIkJvb2tzIl0',
  'x'.repeat(10 * 1024),
  '\u0000',
  '\ud800',
  '%',
  '2026-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
];

const value = fc.oneof(
  fc.constantFrom(...WORST),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt().map(String),
);
const params = (names: readonly string[]) =>
  fc.array(fc.tuple(fc.constantFrom(...names, 'unknown'), value), { maxLength: 8 });

const queryOf = (pairs: readonly [string, string][]) => new URLSearchParams(pairs).toString();

async function answer(path: string, headers: Record<string, string> = {}) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in 5 s: ${path.slice(0, 200)}`)), 5_000);
  });
  try {
    return await Promise.race([h.app.request(path, { headers }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkEnvelope(response: Response, what: string): Promise<void> {
  const body = (await response.json()) as {
    error?: { code?: unknown; message?: unknown; requestId?: unknown };
  };
  assert.equal(typeof body.error?.code, 'string', what);
  assert.equal(typeof body.error?.message, 'string', what);
  assert.equal(typeof body.error?.requestId, 'string', what);
}

test('windows and top: any generated query string is a 200 or a 400 in the envelope', async () => {
  const windows = ['window', 'from', 'to', 'group_by', 'filter', 'aggs', 'tz', 'limit', 'cursor'];
  const top = ['agg', 'by', 'from', 'to', 'n'];
  await fc.assert(
    fc.asyncProperty(fc.boolean(), params(windows), params(top), async (isTop, w, t) => {
      const path = isTop
        ? `/v1/streams/ecommerce/top?${queryOf(t)}`
        : `/v1/streams/ecommerce/windows?${queryOf(w)}`;
      const response = await answer(path);
      assert.ok([200, 400].includes(response.status), `${path.slice(0, 200)} answered ${response.status}`);
      if (response.status === 400) await checkEnvelope(response, path.slice(0, 200));
      else await response.arrayBuffer();
    }),
    { numRuns: 1_500 },
  );
});

test('live: any generated Last-Event-ID and window is a 200, a 400, or 429/503 with Retry-After', async () => {
  await fc.assert(
    fc.asyncProperty(value, params(['window', 'last_event_id']), async (id, pairs) => {
      const headers: Record<string, string> = {};
      // A header value cannot hold every character: those a client cannot send are left out.
      if (/^[\t\x20-\x7e]*$/.test(id)) headers['last-event-id'] = id;
      const path = `/v1/streams/equipment-metrics/live?${queryOf(pairs)}`;
      const response = await answer(path, headers);
      const what = `${path.slice(0, 200)} ${JSON.stringify(headers).slice(0, 100)}`;
      assert.ok([200, 400, 429, 503].includes(response.status), `${what} answered ${response.status}`);
      if (response.status === 200) await response.body?.cancel();
      else await checkEnvelope(response, what);
      if (response.status === 429 || response.status === 503) assert.ok(response.headers.get('retry-after'));
    }),
    { numRuns: 300 },
  );
});
