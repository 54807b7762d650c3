// ./sluice gen ecommerce|bakery --rate N --duration S [--url URL]
// Sends synthetic events at a steady rate for a bounded duration, then prints what was accepted.
// ecommerce: transactions with event time = now. bakery: the three bakery streams, with late
// uploads, rule breakers and malformed events mixed in (tools/bakery-data.ts). Traffic goes only
// to the URL given (127.0.0.1 by default).

import { authHeader } from './auth-header.ts';
import { makeBakeryEvent } from './bakery-data.ts';
import { parseCliArgs } from './cli-args.ts';
import { envelope, makeTransaction, seededRandom } from './ecommerce-data.ts';

const USAGE = './sluice gen ecommerce|bakery [--rate N] [--duration S] [--url URL] [--seed N]';
const { values, positionals } = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      rate: { type: 'string', default: '50' },
      duration: { type: 'string', default: '60' },
      url: { type: 'string', default: 'http://127.0.0.1:8787' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    },
  },
  USAGE,
);
const workload = positionals[0];
if (workload !== 'ecommerce' && workload !== 'bakery') {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const rate = Number(values.rate);
const durationMs = Number(values.duration) * 1000;
if (!(rate > 0 && rate <= 1_000_000 && durationMs > 0 && durationMs <= 24 * 3_600_000)) {
  console.error('--rate must be in (0, 1e6] and --duration in (0, 86400] seconds');
  process.exit(2);
}
const random = seededRandom(Number(values.seed));
const endpoint = new URL('/v1/events', values.url).toString();
const tickMs = 100;
const started = Date.now();
const totals = { sent: 0, accepted: 0, rejected: 0, failed: 0 };
let sequence = 0;
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});
process.on('SIGINT', () => {
  stopping = true;
});

while (!stopping && Date.now() - started < durationMs) {
  const tickStart = Date.now();
  const due = Math.floor(((tickStart - started + tickMs) / 1000) * rate) - totals.sent;
  if (due > 0) {
    const batch = Array.from({ length: due }, () => {
      const id = `gen-${values.seed}-${sequence++}`;
      return workload === 'bakery'
        ? makeBakeryEvent(random, id, Date.now())
        : envelope(makeTransaction(random, id, Date.now()));
    });
    totals.sent += batch.length;
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { ...authHeader(), 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      const body = (await response.json()) as { accepted?: number; rejected?: unknown[] };
      if (response.status === 202) {
        totals.accepted += body.accepted ?? 0;
        totals.rejected += body.rejected?.length ?? 0;
      } else {
        totals.failed += batch.length;
      }
    } catch {
      totals.failed += batch.length;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, tickMs - (Date.now() - tickStart))));
}
console.log(JSON.stringify({ ...totals, seconds: (Date.now() - started) / 1000 }));
