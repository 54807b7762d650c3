// Hostile reads of the query API (fast-check): windows and top parameters (huge, negative, garbage,
// repeated, unknown time zones, forged cursors), unknown streams, odd methods, and SSE resumes with
// garbage Last-Event-ID. Every invalid parameter is a 400 that names it (issue 20 item 6); nothing
// is a 5xx or a hang.

import fc from 'fast-check';
import { named } from './hostile-events.ts';

type Expect = 'ok' | 'bad' | 'either';

export interface Param {
  readonly name: string;
  /** A function of the clock for times; the value as sent otherwise. */
  readonly value: (now: number) => string;
  readonly expect: Expect;
  readonly label: string;
}

const p = (
  name: string,
  expect: Expect,
  value: string | ((now: number) => string),
  label?: string,
): Param => {
  const text = label ?? (typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : 'a time');
  return named(
    { name, expect, value: typeof value === 'string' ? () => value : value, label: text },
    `${name}=${text} (${expect})`,
  );
};

const iso = (ms: number) => new Date(ms).toISOString();
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const oneOf = (ok: Param[], bad: Param[], either: Param[] = []) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ok) },
    { weight: 2, arbitrary: fc.constantFrom(...bad) },
    ...(either.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...either) }] : []),
  );

const windowParam = oneOf(
  ['1m', '2m', '5m', '1h', '1d'].map((w) => p('window', 'ok', w)),
  [
    '90s',
    '0m',
    '0d',
    '-1m',
    '1x',
    '',
    '99999999999999999999d',
    '1e3m',
    '1m1m',
    'x'.repeat(5_000),
    '1m\u0000',
  ].map((w) => p('window', 'bad', w)),
  ['1000d', '100000m', '60000ms'].map((w) => p('window', 'either', w)),
);

const fromParam = oneOf(
  [
    p('from', 'ok', '-15m'),
    p('from', 'ok', '-2h'),
    p('from', 'ok', (now) => iso(now - 30 * 60_000), 'now - 30 min'),
    p('from', 'ok', (now) => String(now - 3_600_000), 'epoch ms an hour ago'),
  ],
  [
    p('from', 'bad', 'garbage'),
    p('from', 'bad', '2025-13-01T00:00:00Z'),
    p('from', 'bad', 'x'.repeat(5_000)),
    p('from', 'bad', '\u0000'),
    // The range cap: 1-minute windows since 1970 are far more than a read may hold.
    p('from', 'bad', '1970-01-01T00:00:00Z'),
    p('from', 'bad', '-99999d'),
    p('from', 'bad', '99999999999999999999'),
  ],
  [p('from', 'either', '0'), p('from', 'either', '-0m'), p('from', 'either', '-1.5h')],
);

const toParam = oneOf(
  [p('to', 'ok', 'now'), p('to', 'ok', (now) => iso(now + 60_000), 'now + 1 min')],
  [
    p('to', 'bad', 'yesterday'),
    p('to', 'bad', '99999999999999999999'),
    p('to', 'bad', '+275760-09-13T00:00:00.000Z'),
  ],
  // The last hour of year 9999 is a fair (empty) range alone; with a from it is too wide.
  [p('to', 'either', '-1h'), p('to', 'either', '9999-12-31T23:59:59Z')],
);

const groupByParam = oneOf(
  [p('group_by', 'ok', 'product_category'), p('group_by', 'ok', 'none'), p('group_by', 'ok', '')],
  [
    p('group_by', 'bad', 'nope'),
    p('group_by', 'bad', 'product_category,nope'),
    p('group_by', 'bad', 'x'.repeat(3_000)),
  ],
);

const filterParam = oneOf(
  [
    p('filter', 'ok', 'product_category=Books'),
    p('filter', 'ok', 'product_category=A|B'),
    p('filter', 'ok', 'product_category=Sp orts'),
  ],
  [p('filter', 'bad', 'nope=1'), p('filter', 'bad', '=x'), p('filter', 'bad', 'x')],
  [
    p('filter', 'either', 'product_category='),
    p('filter', 'either', `product_category=${'k'.repeat(5_000)}`),
  ],
);

const aggsParam = oneOf(
  [p('aggs', 'ok', 'count'), p('aggs', 'ok', 'count,sum_amount')],
  [p('aggs', 'bad', 'nope'), p('aggs', 'bad', 'count,nope'), p('aggs', 'bad', ','.repeat(2_000))],
);

const tzParam = oneOf(
  [p('tz', 'ok', 'UTC'), p('tz', 'ok', 'Europe/Paris'), p('tz', 'ok', 'America/New_York')],
  [
    p('tz', 'bad', 'Mars/Phobos'),
    p('tz', 'bad', 'Europe/Paris\u0000'),
    p('tz', 'bad', 'x'.repeat(1_000)),
    p('tz', 'bad', '+25:00'),
    p('tz', 'bad', ''),
  ],
  [p('tz', 'either', '+05:30'), p('tz', 'either', 'utc'), p('tz', 'either', 'Etc/GMT+14')],
);

const limitParam = oneOf(
  ['1', '1000', '10000'].map((v) => p('limit', 'ok', v)),
  ['0', '-1', '10001', 'abc', '1.5', '1e9', '99999999999999999999999', '', 'NaN', 'Infinity'].map((v) =>
    p('limit', 'bad', v),
  ),
  ['0x10', '1e3', ' 5'].map((v) => p('limit', 'either', v)),
);

const cursorParam = oneOf(
  [p('cursor', 'ok', (now) => b64([now - 120_000, 'Books']), 'a well-formed cursor')],
  [
    p('cursor', 'bad', 'garbage!!'),
    p('cursor', 'bad', ''),
    p('cursor', 'bad', b64({})),
    p('cursor', 'bad', b64([1])),
    p('cursor', 'bad', 'x'.repeat(5_000)),
    p('cursor', 'bad', b64([1e308, 'x']), 'a forged cursor at 1e308'),
    p('cursor', 'bad', b64([-1e308, 'x']), 'a forged cursor at -1e308'),
    p('cursor', 'bad', b64([1.5, 'x']), 'a forged cursor at 1.5 ms'),
  ],
  [
    p('cursor', 'either', b64([0, 'x'.repeat(10_000)]), 'a forged cursor with a 10 KB key'),
    p('cursor', 'either', b64([0, 'a\u0000b']), 'a forged cursor with NUL in its key'),
  ],
);

const unknownParam = fc.constantFrom(
  p('foo', 'ok', 'bar'),
  p('\u0000', 'ok', 'x'),
  p('x'.repeat(2_000), 'ok', 'y'),
);

const nParam = oneOf(
  ['1', '10', '100'].map((v) => p('n', 'ok', v)),
  ['0', '101', '-1', 'abc', '1e9', '99999999999999999999'].map((v) => p('n', 'bad', v)),
);

const aggParam = oneOf(
  [p('agg', 'ok', 'count'), p('agg', 'ok', 'sum_amount')],
  [p('agg', 'bad', 'nope'), p('agg', 'bad', '')],
);

const byParam = oneOf([p('by', 'ok', 'product_category')], [p('by', 'bad', 'nope'), p('by', 'bad', '')]);

const lastEventId = oneOf(
  [p('last-event-id', 'ok', '0-0'), p('last-event-id', 'ok', (now) => `${now}-0`, 'now-0')],
  ['abc', '1-', '-1-0', '1-1-1', ' ', '1_0', 'x'.repeat(5_000), '0x1-0', 'é-0', '1-0 1-0'].map((v) =>
    p('last-event-id', 'bad', v),
  ),
  [
    '99999999999999999999-0',
    '1-99999999999999999999',
    '00000000000000000001-0',
    '18446744073709551616-0',
  ].map((v) => p('last-event-id', 'either', v)),
);

export type Route = 'windows' | 'top' | 'live' | 'health' | 'streams' | 'stream' | 'openapi' | 'method';

export interface QuerySpec {
  readonly route: Route;
  readonly stream: Param;
  readonly params: readonly Param[];
  /** Sent as the Last-Event-ID header (else, when on live, as the query parameter). */
  readonly header: boolean;
  readonly method: string;
  /** The service asked: query, or (for odd methods) an intake service too. */
  readonly host: Host;
}

export type Host = 'query' | 'edge-deno' | 'edge-bun' | 'ingest';
/** Methods no HTTP server needs to parse: a server may close the connection instead of answering. */
export const MADE_UP_METHODS = ['FOO', 'X'.repeat(40)];

const streamParam = fc.oneof(
  { weight: 12, arbitrary: fc.constant(p('stream', 'ok', 'ecommerce')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      p('stream', 'bad', 'nope'),
      p('stream', 'bad', 'ECOMMERCE'),
      p('stream', 'bad', '%00'),
      p('stream', 'bad', '..'),
      p('stream', 'bad', 'x'.repeat(3_000)),
      p('stream', 'bad', '%F0%9F%98%80'),
    ),
  },
);

const windowsParams = fc
  .tuple(
    fc.subarray([
      windowParam,
      fromParam,
      toParam,
      groupByParam,
      filterParam,
      aggsParam,
      tzParam,
      limitParam,
      cursorParam,
    ]),
    fc.boolean(),
  )
  .chain(([arbs, repeat]) =>
    fc.tuple(...arbs, unknownParam).map((params) => {
      const first = params[0];
      // A parameter given twice (a filter may be; others must be refused or take one value).
      return repeat && first !== undefined
        ? [...params, { ...first, expect: 'either' as const }, first]
        : params;
    }),
  );

const topParams = fc
  .subarray([aggParam, byParam, fromParam, toParam, nParam])
  .chain((arbs) => fc.tuple(...arbs).map((params) => [...params]));

const liveParams = fc
  .tuple(
    lastEventId,
    fc.option(oneOf([p('window', 'ok', '1m')], [p('window', 'bad', '5m'), p('window', 'bad', 'nope')]), {
      nil: undefined,
    }),
    // The dashboard's live health events (issue 23): on or off, anything else refused.
    fc.option(
      oneOf(
        [p('health', 'ok', 'on'), p('health', 'ok', 'off')],
        [p('health', 'bad', 'yes'), p('health', 'bad', ''), p('health', 'bad', 'on'.repeat(3_000))],
      ),
      { nil: undefined },
    ),
  )
  .map(([id, window, health]) => [
    id,
    ...(window === undefined ? [] : [window]),
    ...(health === undefined ? [] : [health]),
  ]);

export const querySpec: fc.Arbitrary<QuerySpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      route: fc.constant<Route>('windows'),
      stream: streamParam,
      params: windowsParams,
      header: fc.constant(false),
      method: fc.constant('GET'),
      host: fc.constant<Host>('query'),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      route: fc.constant<Route>('top'),
      stream: streamParam,
      params: topParams,
      header: fc.constant(false),
      method: fc.constant('GET'),
      host: fc.constant<Host>('query'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      route: fc.constant<Route>('live'),
      stream: streamParam,
      params: liveParams,
      header: fc.boolean(),
      method: fc.constant('GET'),
      host: fc.constant<Host>('query'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      route: fc.constantFrom<Route>('streams', 'stream', 'health', 'openapi'),
      stream: streamParam,
      params: fc.constant([]),
      header: fc.constant(false),
      method: fc.constant('GET'),
      host: fc.constant<Host>('query'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      route: fc.constant<Route>('method'),
      stream: fc.constant(p('stream', 'ok', 'ecommerce')),
      params: fc.constant([]),
      header: fc.constant(false),
      method: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'PROPFIND', ...MADE_UP_METHODS),
      host: fc.constantFrom<Host>('query', 'edge-deno', 'edge-bun', 'ingest'),
    }),
  },
);

export interface BuiltQuery {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly allowed: ReadonlySet<number>;
  /** Parameters an answer of 400 must name (one of them, when several are invalid). */
  readonly bad: readonly string[];
  /** The bad ones and those that may be refused or not: a 400 naming one of these is right. */
  readonly nameable: readonly string[];
  readonly live: boolean;
  /** A made-up method: a 501, or a connection closed unanswered, is a fair answer to it. */
  readonly madeUp: boolean;
  /** Short text of its hostile parameters, to group breaches by kind. */
  readonly hostile: string;
  readonly summary: string;
}

export function buildQuery(spec: QuerySpec, base: string, now: number): BuiltQuery {
  const stream = spec.stream.value(now);
  const path =
    spec.route === 'streams'
      ? '/v1/streams'
      : spec.route === 'openapi'
        ? '/openapi.json'
        : spec.route === 'stream'
          ? `/v1/streams/${stream}`
          : spec.route === 'method'
            ? spec.host === 'query'
              ? '/v1/streams/ecommerce/windows'
              : '/v1/events'
            : `/v1/streams/${stream}/${spec.route}`;
  const search = new URLSearchParams();
  const headers: Record<string, string> = {};
  for (const param of spec.params) {
    if (param.name === 'last-event-id') {
      if (spec.header) headers['last-event-id'] = param.value(now);
      else search.append('last_event_id', param.value(now));
    } else search.append(param.name, param.value(now));
  }
  const query = search.toString();
  const url = `${base}${path}${query === '' ? '' : `?${query}`}`;
  const streamMatters = spec.route !== 'streams' && spec.route !== 'openapi' && spec.route !== 'method';
  const expects = [...(streamMatters ? [spec.stream] : []), ...spec.params];
  const wireName = (x: Param) => (x.name === 'last-event-id' ? 'last_event_id' : x.name);
  const bad = spec.params.filter((x) => x.expect === 'bad').map(wireName);
  // A 400 may name a parameter that is either valid or not (an id past 64 bits) as well.
  const nameable = spec.params.filter((x) => x.expect !== 'ok').map(wireName);
  let allowed: Set<number>;
  if (spec.route === 'method') allowed = new Set([400, 404, 405]);
  else if (streamMatters && spec.stream.expect === 'bad') allowed = new Set([400, 404]);
  else if (bad.length > 0) allowed = new Set([400]);
  else if (expects.some((x) => x.expect === 'either')) allowed = new Set([200, 400]);
  else allowed = new Set([200]);
  // A target or header past the server's size limits may be refused as such (414, 431).
  if (url.length > 4_096 || Object.values(headers).some((v) => v.length > 4_096)) {
    allowed.add(414);
    allowed.add(431);
  }
  const hostile = [...(streamMatters ? [spec.stream] : []), ...spec.params]
    .filter((x) => x.expect !== 'ok')
    .map((x) => `${x.name}=${x.label}`)
    .join(' ');
  const summary = `${spec.method} ${spec.host} ${spec.route} ${spec.stream.label} ${spec.params
    .map((x) => `${x.name}=${x.label}(${x.expect})`)
    .join(' ')}${spec.header ? ' [Last-Event-ID header]' : ''}`;
  return {
    url,
    method: spec.method,
    headers,
    allowed,
    bad: streamMatters && spec.stream.expect === 'bad' ? [] : bad,
    nameable,
    live: spec.route === 'live',
    madeUp: MADE_UP_METHODS.includes(spec.method),
    hostile: spec.route === 'method' ? `method ${spec.method.slice(0, 12)} at ${spec.host}` : hostile,
    summary,
  };
}

interface ErrorAnswer {
  error?: { code?: string; message?: string; details?: { path?: string }[] | unknown };
}

/** The first breach of the contract in a query answer, or undefined. */
export function checkQuery(
  query: BuiltQuery,
  status: number,
  retryAfter: string | null,
  text: string,
): string | undefined {
  if (status === 503 && query.live && retryAfter !== null) return undefined;
  if (status === 501 && query.madeUp) return undefined;
  if (status >= 500)
    return `${status}${retryAfter === null ? '' : ` (Retry-After ${retryAfter})`}: ${text.slice(0, 300)}`;
  if (!query.allowed.has(status))
    return `status ${status}, expected ${[...query.allowed].join(' or ')}: ${text.slice(0, 300)}`;
  if (status === 400 && query.bad.length > 0) {
    let answer: ErrorAnswer;
    try {
      answer = JSON.parse(text) as ErrorAnswer;
    } catch {
      return `400 with a body that is not JSON: ${text.slice(0, 200)}`;
    }
    const details = Array.isArray(answer.error?.details) ? (answer.error.details as { path?: string }[]) : [];
    // A repeatable parameter's issue is at its index (`filter.0`): that names `filter`.
    const named = new Set(
      details.flatMap((d) => (d.path === undefined ? [] : [d.path, d.path.split('.')[0]])),
    );
    const message = answer.error?.message ?? '';
    const names = (name: string) =>
      named.has(name) || message.toLowerCase().includes(name.replaceAll('_', '-')) || message.includes(name);
    if (!query.nameable.some(names))
      return `400 names none of ${query.nameable.join(', ')}: ${text.slice(0, 300)}`;
  }
  return undefined;
}
