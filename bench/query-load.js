// k6 load for `./sluice bench query`: a constant arrival rate against the windows endpoint with a
// realistic mix: 70 % hot ranges (a few dashboards' queries, asked again and again: cache hits),
// 10 % conditional requests with the ETag of a hot answer (304s), 15 % warm ranges (the hours of
// the seeded week, each a miss the first time and a hit after) and 5 % cold ranges (a random hour
// of the week: a miss that reads PostgreSQL, per key or rolled up to 5m or 1h). Latency is recorded per
// outcome from the X-Cache header. MODE=baseline asks GET /healthz instead, at the same rate: the
// HTTP floor of the same server; MODE=cached only the hot ranges and their 304s; MODE=mix-hits the
// mix with its 5 % cold ranges (the misses) asked as hot ones: the same load but the misses, so the
// hot hits of the two compare to show what misses do to hits. Bounded by RATE
// and DURATION; traffic goes only to TARGET.

import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';

const hit = new Trend('sluice_hit', true);
// Hits of the warm and cold ranges (an hour by key: ~5x the bytes of a hot answer), apart, so the
// hot hits of the mix compare with the cached-only run's like for like.
const hitOther = new Trend('sluice_hit_other', true);
const miss = new Trend('sluice_miss', true);
const notModified = new Trend('sluice_not_modified', true);
const floor = new Trend('sluice_floor', true);
const failed = new Counter('sluice_failed');

const TARGET = __ENV.TARGET;
const BASE = Number(__ENV.BASE); // epoch ms: start of the seeded data
const DAYS = Number(__ENV.DAYS || 7);
const MODE = __ENV.MODE || 'mix';
// API_KEY: a read key, sent on every request (the service runs with SLUICE_AUTH=on); else none.
const AUTH = __ENV.API_KEY ? { Authorization: `Bearer ${__ENV.API_KEY}` } : {};
const withAuth = { headers: AUTH };

export const options = {
  scenarios: {
    load: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 5000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '20s',
      preAllocatedVUs: Number(__ENV.VUS || 64),
      maxVUs: Number(__ENV.MAX_VUS || 256),
    },
  },
  summaryTrendStats: ['avg', 'p(50)', 'p(99)', 'max', 'count'],
  discardResponseBodies: true,
};

const HOUR = 3_600_000;
// What a chart of a roll-up asks for (sketch aggregates merge too, at more cost per row).
const AGGS = 'count,sum_amount,avg_amount';
const hot = [];
for (let h = 0; h < 6; h++) {
  const to = BASE + DAYS * 24 * HOUR - h * HOUR;
  // What a dashboard polls: the last quarter hour by key, the hour rolled up, six hours by 5m.
  hot.push(`/v1/streams/ecommerce/windows?from=${to - HOUR / 4}&to=${to}`);
  hot.push(`/v1/streams/ecommerce/windows?group_by=none&from=${to - HOUR}&to=${to}`);
  hot.push(
    `/v1/streams/ecommerce/windows?window=5m&group_by=none&aggs=${AGGS}&from=${to - 6 * HOUR}&to=${to}`,
  );
}

export function setup() {
  // Warm the hot answers and learn their ETags for the conditional requests.
  return hot.map((path) => {
    const res = http.get(`${TARGET}${path}`, { responseType: 'none', headers: AUTH });
    return res.headers.Etag || res.headers.ETag || '';
  });
}

const WINDOWS = ['1m', '5m', '1h'];

// biome-ignore lint/style/noDefaultExport: k6 runs the default export of a script.
export default function (etags) {
  if (MODE === 'baseline') {
    const res = http.get(`${TARGET}/healthz`, withAuth);
    if (res.status !== 200) failed.add(1);
    else floor.add(res.timings.duration);
    return;
  }
  // MODE=cached: only the hot answers and their 304s (the target's "cached" figure).
  const r = MODE === 'cached' ? Math.random() * 0.8 : Math.random();
  if (r < 0.7 || (MODE === 'mix-hits' && r >= 0.95)) {
    record(http.get(`${TARGET}${hot[Math.floor(Math.random() * hot.length)]}`, withAuth));
  } else if (r < 0.8) {
    const i = Math.floor(Math.random() * hot.length);
    record(http.get(`${TARGET}${hot[i]}`, { headers: { ...AUTH, 'If-None-Match': etags[i] } }));
  } else if (r < 0.95) {
    const from = BASE + Math.floor(Math.random() * DAYS * 24) * HOUR;
    record(
      http.get(`${TARGET}/v1/streams/ecommerce/windows?from=${from}&to=${from + HOUR}`, withAuth),
      hitOther,
    );
  } else {
    const from = BASE + Math.floor(Math.random() * (DAYS * 24 - 1) * HOUR);
    const window = WINDOWS[Math.floor(Math.random() * WINDOWS.length)];
    const rollUp = window === '1m' ? '' : `&group_by=none&aggs=${AGGS}`;
    record(
      http.get(
        `${TARGET}/v1/streams/ecommerce/windows?window=${window}${rollUp}&from=${from}&to=${from + HOUR}`,
        withAuth,
      ),
      hitOther,
    );
  }
}

function record(res, hits = hit) {
  if (res.status === 304) notModified.add(res.timings.duration);
  else if (res.status !== 200) failed.add(1);
  else if (res.headers['X-Cache'] === 'hit') hits.add(res.timings.duration);
  else miss.add(res.timings.duration);
}
