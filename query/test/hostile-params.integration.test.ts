// Hostile query parameters (guarantee 5): every parameter of the windows, top and live routes,
// given the worst values a client can send (huge numbers, negatives, NaN strings, 10 KB strings,
// unknown zones, malformed and forged cursors, repeated parameters, Last-Event-ID garbage), is a
// 400 in the one error envelope that names the parameter: never a 500, a 200 of nonsense or a hang.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { QueryHarness } from './in-process.ts';
import { startQuery } from './in-process.ts';

const HUGE = '9'.repeat(400);
const TEN_KB = 'x'.repeat(10 * 1024);
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Case {
  /** The parameter the answer must name (in its message or a detail's path). */
  readonly param: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
}

const W = '/v1/streams/ecommerce/windows';
const TOP = '/v1/streams/ecommerce/top';
const LIVE = '/v1/streams/ecommerce/live';
const q = (value: string) => encodeURIComponent(value);

const windowsCases: Case[] = [
  ...['0m', '0ms', '-1m', 'NaN', `${HUGE}d`, '99999999999d', '1e3m', TEN_KB, '1m\u0000'].map((v) => ({
    param: 'window',
    path: `${W}?window=${q(v)}`,
  })),
  { param: 'window', path: `${W}?window=1m&window=5m` },
  ...[
    HUGE,
    '99999999999999999999',
    '9999999999999999',
    '-1',
    'NaN',
    'Infinity',
    '-99999999999d',
    `-${HUGE}m`,
    '99999-01-01T00:00:00Z',
    TEN_KB,
  ].map((v) => ({ param: 'from', path: `${W}?from=${q(v)}&to=now` })),
  ...[HUGE, '9999999999999999', 'NaN', '1e400', TEN_KB].map((v) => ({
    param: 'to',
    path: `${W}?from=-1h&to=${q(v)}`,
  })),
  { param: 'from', path: `${W}?from=0&to=now` },
  ...[TEN_KB, 'amount', ',,', 'product_category,'.repeat(1_000)].map((v) => ({
    param: 'group_by',
    path: `${W}?group_by=${q(v)}`,
  })),
  ...[TEN_KB, '=Books', `product_category=${TEN_KB}`, 'nope=1'].map((v) => ({
    param: 'filter',
    path: `${W}?filter=${q(v)}`,
  })),
  {
    param: 'filter',
    path: `${W}?${Array.from({ length: 1_000 }, (_, i) => `filter=product_category=c${i}`).join('&')}`,
  },
  ...[TEN_KB, 'count,,', 'count,nope'].map((v) => ({ param: 'aggs', path: `${W}?aggs=${q(v)}` })),
  ...['Mars/Olympus', TEN_KB, 'UTC\u0000', '../../etc/passwd'].map((v) => ({
    param: 'tz',
    path: `${W}?window=1d&tz=${q(v)}`,
  })),
  ...['0', '-1', 'NaN', '1e400', HUGE, '1.5', '10001', TEN_KB, ''].map((v) => ({
    param: 'limit',
    path: `${W}?limit=${q(v)}`,
  })),
  { param: 'limit', path: `${W}?limit=1&limit=2` },
  ...[
    'garbage!!',
    TEN_KB,
    cursorOf([1e300, 'Books']),
    cursorOf([-1e300, 'Books']),
    cursorOf(['1', 'Books']),
    cursorOf([1.5, 'Books']),
    cursorOf([0, TEN_KB]),
    cursorOf({ start: 0, key: 'Books' }),
    cursorOf([null, 'Books']),
  ].map((v) => ({ param: 'cursor', path: `${W}?cursor=${q(v)}` })),
];

const topCases: Case[] = [
  ...['0', '-1', 'NaN', '1e400', HUGE, '101', TEN_KB].map((v) => ({ param: 'n', path: `${TOP}?n=${q(v)}` })),
  { param: 'n', path: `${TOP}?n=1&n=2` },
  ...[TEN_KB, 'nope'].map((v) => ({ param: 'agg', path: `${TOP}?agg=${q(v)}` })),
  ...[TEN_KB, 'nope', ','].map((v) => ({ param: 'by', path: `${TOP}?by=${q(v)}` })),
  ...[HUGE, '9999999999999999', '-99999999999d', TEN_KB].map((v) => ({
    param: 'from',
    path: `${TOP}?from=${q(v)}&to=now`,
  })),
  ...['9999999999999999', HUGE].map((v) => ({ param: 'to', path: `${TOP}?from=-1h&to=${q(v)}` })),
];

const liveCases: Case[] = [
  ...[
    'x',
    TEN_KB,
    `${'9'.repeat(10 * 1024)}-0`,
    '99999999999999999999999-0',
    '18446744073709551616-0',
    '1-2, 3-4',
    '-1-0',
    '1-',
  ].map((v) => ({ param: 'Last-Event-ID', path: LIVE, headers: { 'last-event-id': v } })),
  { param: 'last_event_id', path: `${LIVE}?last_event_id=${'9'.repeat(100)}-0` },
  ...[TEN_KB, '2m'].map((v) => ({ param: 'window', path: `${LIVE}?window=${q(v)}` })),
  { param: 'window', path: `${LIVE}?window=1m&window=1m` },
  { param: 'last_event_id', path: `${LIVE}?last_event_id=1-1&last_event_id=2-2` },
];

let h: QueryHarness;

before(async () => {
  h = await startQuery('hostile');
});

after(() => h.close());

/** The answer, or a failure if none comes within 5 s (a hang is a failure too). */
async function ask(c: Case): Promise<Response> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in 5 s: ${c.path.slice(0, 120)}`)), 5_000);
  });
  try {
    return await Promise.race([h.app.request(c.path, { headers: c.headers ?? {} }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Envelope {
  error: { code: string; message: string; requestId: string; details?: { path: string; message: string }[] };
}

async function assertNamed400(c: Case): Promise<void> {
  const response = await ask(c);
  const label = `${c.param}: ${c.path.slice(0, 100)}${c.headers === undefined ? '' : ` ${JSON.stringify(c.headers).slice(0, 60)}`}`;
  const text = await response.text();
  assert.equal(response.status, 400, `${label} answered ${response.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as Envelope;
  assert.equal(body.error.code, 'validation_failed', label);
  assert.equal(typeof body.error.requestId, 'string', label);
  const named =
    body.error.message.includes(c.param) ||
    (body.error.details ?? []).some((d) => d.path === c.param || d.path.startsWith(`${c.param}.`));
  assert.ok(named, `${label}: the answer names ${c.param}: ${text.slice(0, 300)}`);
  // An error never echoes a 10 KB value back whole.
  assert.ok(text.length < 4_096, `${label}: answer of ${text.length} bytes`);
}

/** Every case is tried; the failures are reported together. */
async function assertAll(cases: readonly Case[]): Promise<void> {
  const failures: string[] = [];
  for (const c of cases) {
    try {
      await assertNamed400(c);
    } catch (error) {
      failures.push(error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error));
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`);
}

test('windows: every hostile parameter is a 400 that names it', () => assertAll(windowsCases));

test('top: every hostile parameter is a 400 that names it', () => assertAll(topCases));

test('/top range cap: a range of more windows than the windows route allows is a 400 naming from', async () => {
  // 2000 to now in 1-minute windows: millions of windows, where the windows route stops at 100,000.
  await assertNamed400({ param: 'from', path: `${TOP}?from=2000-01-01T00:00:00Z&to=now` });
  await assertNamed400({ param: 'from', path: `${TOP}?from=-365d&to=now` });
  const fine = await h.app.request(`${TOP}?from=-1h&to=now`);
  assert.equal(fine.status, 200);
});

test('live: garbage Last-Event-ID and window are a 400 that names them', () => assertAll(liveCases));
