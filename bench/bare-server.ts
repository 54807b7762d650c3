// The bare floor of `./sluice bench query`: the runtime's HTTP server (Bun.serve on Bun, through
// the same serveHttp as the query service) answering a fixed JSON body, with no framework,
// middleware or cache in front. What k6 measures against it on the same cores is the best any
// handler could do there. Listens on 127.0.0.1:PORT (argv) until killed.

import { serveHttp } from '@sluice/shared/http/serve';

const port = Number(process.argv[2]);
const body = '{"status":"ok"}';
await serveHttp(() => new Response(body, { headers: { 'content-type': 'application/json' } }), {
  hostname: '127.0.0.1',
  port,
});
