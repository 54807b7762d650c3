// The bare floor of `./sluice bench query` and of `./sluice bench e2e --via edge`: the runtime's
// HTTP server (Bun.serve on Bun, through the same serveHttp as the services) answering a fixed
// JSON body, with no framework, middleware or cache in front. What k6 measures against it on the
// same cores is the best any handler could do there. Listens on 127.0.0.1:PORT (argv) until
// killed. A second argument makes the body that many bytes (a floor for answers of that size); a
// third, a status, answers every POST with it and the body ingest gives a batch of 100 accepted
// events, after reading the request's body as any handler must.

import { serveHttp } from '@sluice/shared/http/serve';

const port = Number(process.argv[2]);
const size = Number(process.argv[3] ?? 0);
const postStatus = Number(process.argv[4] ?? 0);
const body = size > 0 ? `{"pad":"${'x'.repeat(Math.max(0, size - 10))}"}` : '{"status":"ok"}';
// What ingest answers k6's batch of 100 (bench/e2e-load.js): the count, the ids, no rejection.
const accepted = JSON.stringify({
  accepted: 100,
  ids: Array.from({ length: 100 }, (_, i) => `bench-1-1-${i}`),
  rejected: [],
});
const json = { 'content-type': 'application/json' };
await serveHttp(
  async (request) => {
    if (request.method === 'POST' && postStatus > 0) {
      await request.arrayBuffer();
      return new Response(accepted, { status: postStatus, headers: json });
    }
    return new Response(body, { headers: json });
  },
  { hostname: '127.0.0.1', port },
);
