// k6 load for `./sluice bench e2e`: each iteration POSTs one batch of BATCH ecommerce events
// (event time = now, ids unique per iteration) to ingest and counts what was acknowledged.
// Bodies come from templates built once per VU, so the load generator spends its CPU on sending,
// not on building JSON. Bounded by DURATION and VUS; traffic goes only to TARGET (127.0.0.1).

import { check } from 'k6';
import http from 'k6/http';
import { Counter } from 'k6/metrics';

const accepted = new Counter('sluice_accepted');
const refused = new Counter('sluice_refused');
const BATCH = Number(__ENV.BATCH || 100);
const CATEGORIES = ['Electronics', 'Clothing', 'Home & Garden', 'Books', 'Sports', 'Beauty'];
const METHODS = ['credit_card', 'debit_card', 'paypal'];

export const options = {
  scenarios: {
    load: { executor: 'constant-vus', vus: Number(__ENV.VUS || 16), duration: __ENV.DURATION || '20s' },
  },
  summaryTrendStats: ['avg', 'p(50)', 'p(99)', 'max'],
};

const events = [];
for (let i = 0; i < BATCH; i++) {
  const cents = 1000 + Math.floor(Math.random() * 99000);
  events.push(
    JSON.stringify({
      stream: 'ecommerce',
      data: {
        transaction_id: `@ID@-${i}`,
        user_id: `user_${Math.floor(Math.random() * 5000)}`,
        product_category: CATEGORIES[Math.floor(Math.random() * CATEGORIES.length)],
        product_name: 'item',
        amount: cents / 100,
        timestamp: '@TS@',
        payment_method: METHODS[Math.floor(Math.random() * METHODS.length)],
      },
    }),
  );
}
const TEMPLATE = `[${events.join(',')}]`;

// biome-ignore lint/style/noDefaultExport: k6 runs the default export of a script.
export default function () {
  const body = TEMPLATE.replaceAll('@ID@', `bench-${__VU}-${__ITER}`).replaceAll(
    '@TS@',
    new Date().toISOString(),
  );
  const res = http.post(`${__ENV.TARGET}/v1/events`, body, {
    // API_KEY: a write key (the services run with SLUICE_AUTH=on); else none.
    headers: __ENV.API_KEY
      ? { 'content-type': 'application/json', authorization: `Bearer ${__ENV.API_KEY}` }
      : { 'content-type': 'application/json' },
    timeout: '30s',
  });
  if (check(res, { 'accepted (202)': (r) => r.status === 202 })) accepted.add(res.json('accepted'));
  else refused.add(BATCH);
}
