// One script, run by client.integration.test.ts on Node, Bun (`bun`) and Deno (`deno run -A`): sends
// ecommerce events of its own category with @sluice/client, then reads them back in windows
// through the same client, and prints one JSON line of what it saw. Its inputs are environment
// variables (every runtime has `process.env`): SLUICE_CLIENT_EVENTS_URL (edge or ingest),
// SLUICE_CLIENT_QUERY_URL, SLUICE_API_KEY, SLUICE_CLIENT_CATEGORY, SLUICE_CLIENT_EVENTS.

import { createSluiceClient } from '../src/index.ts';

function input(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const category = input('SLUICE_CLIENT_CATEGORY');
const count = Number(input('SLUICE_CLIENT_EVENTS'));
const sluice = createSluiceClient({
  ingestUrl: input('SLUICE_CLIENT_EVENTS_URL'),
  queryUrl: input('SLUICE_CLIENT_QUERY_URL'),
  apiKey: input('SLUICE_API_KEY'),
  events: { maxBatchEvents: 40, lingerMs: 20 },
});

const now = Date.now();
const sent = [];
for (let i = 0; i < count; i += 1) {
  sent.push(
    await sluice.events.send({
      stream: 'ecommerce',
      data: {
        transaction_id: `${category}-${i}`,
        user_id: `u-${i % 7}`,
        product_category: category,
        product_name: 'Lamp',
        amount: 1,
        timestamp: new Date(now - i).toISOString(),
        payment_method: 'card',
      },
    }),
  );
}
// One the stream's schema refuses (a negative amount): its verdict says why.
const bad = await sluice.events.send({
  stream: 'ecommerce',
  data: {
    transaction_id: 'x',
    user_id: 'u',
    product_category: category,
    product_name: 'Lamp',
    amount: -1,
    timestamp: new Date(now).toISOString(),
    payment_method: 'card',
  },
});
await sluice.events.flush();
const verdicts = await Promise.all(sent.map((s) => s.verdict));
const badVerdict = await bad.verdict;

let counted = 0;
const deadline = Date.now() + 60_000;
while (Date.now() < deadline) {
  const { data, error } = await sluice.query.windows('ecommerce', {
    from: new Date(now - 5 * 60_000).toISOString(),
    to: new Date(now + 60_000).toISOString(),
    filter: [`product_category=${category}`],
  });
  if (error !== undefined) throw new Error(`windows: ${JSON.stringify(error)}`);
  counted = data.data.reduce((sum, row) => sum + (row.values.count ?? 0), 0);
  if (counted >= count) break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}
await sluice.close();

console.log(
  JSON.stringify({
    runtime: navigator.userAgent,
    accepted: verdicts.filter((v) => v.status === 'accepted').length,
    refused: badVerdict.status === 'refused' ? badVerdict.errors.map((e) => e.path) : badVerdict.status,
    counted,
  }),
);
