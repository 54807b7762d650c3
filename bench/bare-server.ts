// The bare floor of `./sluice bench query`: the runtime's HTTP server (Bun.serve on Bun, through
// the same serveHttp as the query service) answering a fixed JSON body, with no framework,
// middleware or cache in front. What k6 measures against it on the same cores is the best any
// handler could do there. Listens on 127.0.0.1:PORT (argv) until killed; a second argument makes
// the body that many bytes (a floor for answers of that size).

import { serveHttp } from '@sluice/shared/http/serve';

const port = Number(process.argv[2]);
const size = Number(process.argv[3] ?? 0);
const body = size > 0 ? `{"pad":"${'x'.repeat(Math.max(0, size - 10))}"}` : '{"status":"ok"}';
await serveHttp(() => new Response(body, { headers: { 'content-type': 'application/json' } }), {
  hostname: '127.0.0.1',
  port,
});
