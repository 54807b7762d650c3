// Tracing with no collector running costs nothing visible: ingest, the processor and query start
// with their exporter pointed at a closed port, every span still sampled, and the pipeline still
// lands every event in its window; the dropped exports leave no error lines.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../shared/test/harness.ts';
import { postTransactions } from '../../shared/test/ingest-client.ts';
import type { ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { freePort, testPipeline } from '../../shared/test/services.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

let p: TestPipeline;
let ingest: ServiceHandle;
let query: ServiceHandle;

before(async () => {
  // A port nothing listens on: every export fails.
  p = await testPipeline('tracing-off', {
    SLUICE_STREAMS: 'ecommerce',
    SLUICE_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    SLUICE_TRACE_SAMPLE_RATIO: '1',
    SLUICE_LOG_LEVEL: 'info',
  });
  ingest = await p.start('ingest');
  await p.start('processor');
  query = await p.start('query');
});

after(() => p.close());

test('with no collector the services start, work and stay quiet about it', { timeout: 90_000 }, async () => {
  const random = seededRandom(11);
  const base = Date.now() - 5 * 60_000;
  const sent = Array.from({ length: 200 }, (_, i) => makeTransaction(random, `off-${i}`, base + i * 100));
  for (let i = 0; i < sent.length; i += 50) await postTransactions(ingest.url, sent.slice(i, i + 50));
  await waitFor(
    async () => {
      const [row] = await p.sql<
        { n: string | null }[]
      >`select sum((values->>'count')::int)::text as n from windows`;
      return Number(row?.n ?? 0) === sent.length ? true : undefined;
    },
    { timeoutMs: 30_000, what: `${sent.length} events counted` },
  );
  const answer = await fetch(`${query.url}/v1/streams/ecommerce/windows?from=-1h`);
  assert.equal(answer.status, 200);
  await answer.body?.cancel();
  // Give the exporters time to try (their batch delay is 0.5 s) and fail.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  for (const service of p.services) {
    const errors = service
      .output()
      .split('\n')
      .filter((line) => /"level":"(error|fatal)"|Error:/i.test(line));
    assert.deepEqual(errors, [], `${service.name} logged errors`);
  }
});
