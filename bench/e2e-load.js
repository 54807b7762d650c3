// k6 load for `./sluice bench e2e`: each iteration POSTs one batch of BATCH ecommerce events
// (event time = now, ids unique per iteration) to ingest and counts what was acknowledged.
// Bodies come from templates built once per VU, so the load generator spends its CPU on sending,
// not on building JSON. Bounded by DURATION and VUS; traffic goes only to TARGET (127.0.0.1).

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
        // The one slot: the request's time and id prefix (see below); `-i` follows it.
        timestamp: `@SLOT@-${i}`,
        user_id: `user_${Math.floor(Math.random() * 5000)}`,
        product_category: CATEGORIES[Math.floor(Math.random() * CATEGORIES.length)],
        product_name: 'item',
        amount: cents / 100,
        payment_method: METHODS[Math.floor(Math.random() * METHODS.length)],
      },
    }),
  );
}
// Per iteration the body is the template's pieces joined with one string holding both the
// request's time and its id prefix: `"timestamp":"<ISO>","transaction_id":"bench-VU-ITER-i"`. One
// join, not two replaceAll passes over ~30 KB: k6's CPU per request fell from ~500 µs to ~250 µs
// against a bare server (issue 27), CPU taken from the pipeline it measures on the same cores.
const PIECES = `[${events.join(',')}]`.split('@SLOT@');
const HEADERS = __ENV.API_KEY
  ? { 'content-type': 'application/json', authorization: `Bearer ${__ENV.API_KEY}` }
  : { 'content-type': 'application/json' };

// biome-ignore lint/style/noDefaultExport: k6 runs the default export of a script.
export default function () {
  const slot = `${new Date().toISOString()}","transaction_id":"bench-${__VU}-${__ITER}`;
  // API_KEY: a write key (the services run with SLUICE_AUTH=on); else none.
  const res = http.post(`${__ENV.TARGET}/v1/events`, PIECES.join(slot), { headers: HEADERS, timeout: '30s' });
  if (res.status !== 202) refused.add(BATCH);
  // ingest's 202 ends so when nothing was rejected: the whole batch was accepted, and the answer
  // (100 ids) need not be parsed.
  else if (typeof res.body === 'string' && res.body.endsWith('"rejected":[]}')) accepted.add(BATCH);
  else accepted.add(res.json('accepted'));
}
