// The query API's contract, on the real PostgreSQL and Redis with window rows whose every number
// the test knows: each route and parameter answers what the test computes on its own, every answer
// (errors too) validates against the served OpenAPI 3.1 document, and the document itself is valid.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { contractsDocument } from '../src/routes/document.ts';
import type { QueryHarness, SeededRow } from './in-process.ts';
import { startQuery } from './in-process.ts';

const T0 = Date.parse('2026-05-01T21:00:00Z'); // 23:00 in Paris: a local day starts an hour in
const MINUTES = 120;
const CATEGORIES = ['Beauty', 'Books', 'Sports'];
const WATERMARK = T0 + 115 * 60_000;

let q: QueryHarness;
let doc: Record<string, unknown>;
const ajv = new Ajv2020({ strict: false, allErrors: true });
const rows: SeededRow[] = [];

for (let m = 0; m < MINUTES; m += 1) {
  CATEGORIES.forEach((category, ci) => {
    const start = T0 + m * 60_000;
    const sales = Array.from({ length: (m % 4) + 1 }, (_, j) => ({
      category,
      amount: 10 + m + ci + j * 0.25,
      user: `u${(m * 7 + j) % 50}`,
      time: start + j * 1_000,
    }));
    const amended = m === 10 && category === 'Books';
    rows.push({
      start,
      category,
      sales,
      status: start + 60_000 > WATERMARK ? 'provisional' : amended ? 'amended' : 'settled',
      version: amended ? 2 : 1,
    });
  });
}

/** What the test expects of the rows in a group: count, sum (cents exact), min and max. */
function expected(group: readonly SeededRow[]) {
  const amounts = group.flatMap((r) => r.sales.map((s) => s.amount));
  return {
    count: amounts.length,
    sum_amount: Math.round(amounts.reduce((a, b) => a + b, 0) * 100) / 100,
    min_amount: Math.min(...amounts),
    max_amount: Math.max(...amounts),
  };
}

before(async () => {
  q = await startQuery('api');
  await q.write(rows, WATERMARK);
  doc = (await (await q.app.request('/openapi.json')).json()) as Record<string, unknown>;
  ajv.addSchema(doc, 'api');
});

after(() => q.close());

/** Requests `path` and checks the answer against the document's schema for its route and status. */
async function call(path: string, route: string, init: RequestInit = {}) {
  const response = await q.app.request(path, init);
  const text = await response.text();
  const body: unknown = text === '' ? null : JSON.parse(text);
  if (response.status !== 304) {
    const pointer = `/paths/${route.replaceAll('/', '~1')}/get/responses/${response.status}/content/application~1json/schema`;
    const validate = ajv.getSchema(`api#${encodeURI(pointer)}`);
    assert.ok(validate, `the document declares ${response.status} for ${route}`);
    assert.ok(
      validate(body),
      `${path} (${response.status}) matches the document: ${ajv.errorsText(validate.errors)}`,
    );
  }
  return { status: response.status, headers: response.headers, body };
}

interface Row {
  window_start: string;
  window_end: string;
  key: string | null;
  keys: Record<string, string>;
  values: Record<string, number | null>;
  status: string;
  version: number;
  trace_id: string | null;
}
interface Page {
  data: Row[];
  watermark: string | null;
  next_cursor: string | null;
}
const W = '/v1/streams/{stream}/windows';
const iso = (ms: number) => new Date(ms).toISOString();
const range = (from: number, to: number) => `from=${iso(from)}&to=${iso(to)}`;
const pick = (v: Record<string, number | null>) => ({
  count: v.count,
  sum_amount: v.sum_amount,
  min_amount: v.min_amount,
  max_amount: v.max_amount,
});

test('the OpenAPI document is valid OpenAPI 3.1 and names every route the app serves, and no other', async () => {
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  assert.equal(doc.openapi, '3.1.0');
  // What the app serves, from its router (middleware is registered for every method: left out);
  // the page, its assets and the document itself are not API operations.
  const notApi = new Set(['/', '/assets/:name', '/openapi.json', '/docs']);
  const served = new Set(
    q.app.routes
      .filter((r) => r.method !== 'ALL' && !notApi.has(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path}`),
  );
  const declared = new Set(
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    ),
  );
  assert.deepEqual([...declared].sort(), [...served].sort());
  assert.ok(served.size >= 18, `the app serves its routes (${served.size})`);
  // The contracts the client's types are generated from are the ones the app serves.
  assert.deepEqual(JSON.parse(JSON.stringify(contractsDocument())), doc);
  // Every operation but the ops endpoints needs the bearer key; those may go without (SLUICE_OPS_OPEN).
  const schemes = (doc.components as { securitySchemes: Record<string, { type: string; scheme: string }> })
    .securitySchemes;
  assert.deepEqual(Object.values(schemes), [
    { ...Object.values(schemes)[0], type: 'http', scheme: 'bearer' },
  ]);
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>))
    for (const [method, op] of Object.entries(methods)) {
      const { security, responses } = op as { security?: object[]; responses: Record<string, unknown> };
      assert.ok(security !== undefined && security.length > 0, `${method} ${path} declares its security`);
      assert.ok('401' in responses && '403' in responses, `${method} ${path} declares 401 and 403`);
      if (path.startsWith('/v1/')) assert.ok('429' in responses, `${method} ${path} declares 429`);
    }
  const docs = await q.app.request('/docs');
  assert.equal(docs.status, 200);
  const page = await docs.text();
  assert.match(page, /GET \/v1\/streams\/\{stream\}\/windows/);
  assert.match(page, /POST \/v1\/admin\/keys/);
  assert.match(page, /Authorization: Bearer/);
});

test('streams: the list, one stream with its payload schema, watermark and lag, and 404', async () => {
  const list = await call('/v1/streams', '/v1/streams');
  assert.equal(list.status, 200);
  const names = (list.body as { data: { name: string }[] }).data.map((s) => s.name);
  assert.ok(names.includes('ecommerce') && names.includes('sales-events'));
  const one = await call('/v1/streams/ecommerce', '/v1/streams/{stream}');
  const detail = one.body as {
    schema: { properties: object };
    watermark: string;
    lag: { partitions: unknown[] };
  };
  assert.ok('amount' in detail.schema.properties);
  assert.equal(detail.watermark, iso(WATERMARK));
  assert.equal(detail.lag.partitions.length, 1);
  const missing = await call('/v1/streams/nope', '/v1/streams/{stream}');
  assert.equal(missing.status, 404);
});

test('windows per key: exact values, status, version and trace id for every row', async () => {
  const { status, body, headers } = await call(
    `/v1/streams/ecommerce/windows?${range(T0, T0 + MINUTES * 60_000)}&limit=10000`,
    W,
  );
  assert.equal(status, 200);
  const page = body as Page;
  assert.equal(page.data.length, rows.length);
  assert.equal(page.watermark, iso(WATERMARK));
  assert.equal(headers.get('x-watermark'), iso(WATERMARK));
  for (const [i, row] of page.data.entries()) {
    const want = [...rows].sort((a, b) => a.start - b.start || a.category.localeCompare(b.category))[i];
    assert.ok(want);
    assert.equal(row.window_start, iso(want.start));
    assert.equal(row.key, want.category);
    assert.deepEqual(row.keys, { product_category: want.category });
    assert.deepEqual(pick(row.values), expected([want]));
    assert.equal(row.status, want.status);
    assert.equal(row.version, want.version);
    assert.equal(row.trace_id, want.start.toString(16).padStart(32, '0'));
  }
});

test('roll-ups: group_by=none, 5m and 1d in a time zone merge exactly what they cover', async () => {
  const none = (await call(`/v1/streams/ecommerce/windows?${range(T0, T0 + 3 * 60_000)}&group_by=none`, W))
    .body as Page;
  assert.equal(none.data.length, 3);
  for (const row of none.data)
    assert.deepEqual(pick(row.values), expected(rows.filter((r) => iso(r.start) === row.window_start)));

  const five = (await call(`/v1/streams/ecommerce/windows?window=5m&${range(T0, T0 + MINUTES * 60_000)}`, W))
    .body as Page;
  assert.equal(five.data.length, (MINUTES / 5) * CATEGORIES.length);
  for (const row of five.data) {
    const start = Date.parse(row.window_start);
    assert.equal(Date.parse(row.window_end) - start, 5 * 60_000);
    const group = rows.filter(
      (r) => r.category === row.key && r.start >= start && r.start < start + 5 * 60_000,
    );
    assert.deepEqual(pick(row.values), expected(group));
    // A bucket is final only once the watermark passed its end.
    assert.equal(row.status === 'provisional', start + 5 * 60_000 > WATERMARK);
  }

  // Paris is UTC+2 in May: its days start at 22:00Z, so the data falls into two local days.
  const days = (
    await call(
      `/v1/streams/ecommerce/windows?window=1d&tz=Europe/Paris&group_by=none&${range(T0 - 86_400_000, T0 + 86_400_000)}`,
      W,
    )
  ).body as Page;
  const split = T0 + 60 * 60_000;
  assert.deepEqual(
    days.data.map((d) => [d.window_start, d.window_end, d.values.count]),
    [
      [iso(split - 86_400_000), iso(split), expected(rows.filter((r) => r.start < split)).count],
      [iso(split), iso(split + 86_400_000), expected(rows.filter((r) => r.start >= split)).count],
    ],
  );
});

test('filter, aggs, cursor pagination and relative ranges', async () => {
  const all = `${range(T0, T0 + 30 * 60_000)}`;
  const books = (await call(`/v1/streams/ecommerce/windows?${all}&filter=product_category=Books`, W))
    .body as Page;
  assert.equal(books.data.length, 30);
  assert.ok(books.data.every((r) => r.key === 'Books'));
  const two = (
    await call(
      `/v1/streams/ecommerce/windows?${all}&filter=product_category=Books&filter=product_category=Sports&aggs=count,sum_amount`,
      W,
    )
  ).body as Page;
  assert.equal(two.data.length, 60);
  assert.deepEqual(Object.keys(two.data[0]?.values ?? {}).sort(), ['count', 'sum_amount']);

  const whole = (await call(`/v1/streams/ecommerce/windows?${all}`, W)).body as Page;
  const paged: Row[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = (
      await call(
        `/v1/streams/ecommerce/windows?${all}&limit=7${cursor === null ? '' : `&cursor=${cursor}`}`,
        W,
      )
    ).body as Page;
    paged.push(...page.data);
    cursor = page.next_cursor;
    pages += 1;
  } while (cursor !== null);
  assert.equal(pages, Math.ceil(90 / 7));
  assert.deepEqual(paged, whole.data);

  // Relative to now: nothing was written in the last 15 minutes of today.
  const recent = (await call('/v1/streams/ecommerce/windows?from=-15m', W)).body as Page;
  assert.deepEqual(recent.data, []);
});

test('top-N: keys ranked by an aggregate over a range', async () => {
  const to = T0 + 60 * 60_000;
  const { body } = await call(
    `/v1/streams/ecommerce/top?agg=sum_amount&n=2&${range(T0, to)}`,
    '/v1/streams/{stream}/top',
  );
  const top = body as { data: { key: string; value: number }[]; complete: boolean };
  const ranked = CATEGORIES.map((c) => ({
    key: c,
    value: expected(rows.filter((r) => r.category === c && r.start < to)).sum_amount,
  }))
    .sort((a, b) => b.value - a.value)
    .slice(0, 2);
  assert.deepEqual(
    top.data.map((r) => ({ key: r.key, value: r.value })),
    ranked,
  );
  assert.equal(top.complete, true);
  const bad = await call('/v1/streams/ecommerce/top?agg=nope&n=0', '/v1/streams/{stream}/top');
  assert.equal(bad.status, 400);
});

test('errors: every invalid parameter is named, in the one envelope with a request id', async () => {
  const bad = await call(
    '/v1/streams/ecommerce/windows?window=90s&group_by=user_id&limit=0&from=yesterday&filter=color=red&aggs=nope&tz=Mars/Base&cursor=x',
    W,
  );
  assert.equal(bad.status, 400);
  const error = (bad.body as { error: { code: string; requestId: string; details: { path: string }[] } })
    .error;
  assert.equal(error.code, 'validation_failed');
  assert.ok(error.requestId.length > 0);
  assert.deepEqual(error.details.map((d) => d.path).sort(), [
    'aggs',
    'cursor',
    'filter',
    'from',
    'group_by',
    'limit',
    'tz',
    'window',
  ]);
  const badWindow = await call('/v1/streams/ecommerce/windows?window=90s', W);
  assert.equal(badWindow.status, 400);
  const backwards = await call(`/v1/streams/ecommerce/windows?${range(T0, T0 - 1)}`, W);
  assert.equal(backwards.status, 400);
  const tooWide = await call(`/v1/streams/ecommerce/windows?from=0&to=${T0}`, W);
  assert.equal(tooWide.status, 400);
  assert.equal((await call('/v1/streams/nope/windows', W)).status, 404);
  const unknown = await q.app.request('/v2/nothing');
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'not_found');
});

test('ETag: the same answer again is a 304 for If-None-Match', async () => {
  const path = `/v1/streams/ecommerce/windows?${range(T0, T0 + 10 * 60_000)}`;
  const first = await call(path, W);
  const etag = first.headers.get('etag');
  assert.ok(etag);
  const again = await call(path, W, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
});
