// ./sluice status's fleet table (`node tools/cli.ts fleet status URL...`): asks each processor
// worker for its /status and prints one row per worker (tools/fleet/status.ts).

import { fleetRows, workerStatus } from './fleet/status.ts';

const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error('usage: node tools/cli.ts fleet status WORKER_URL...');
  process.exit(2);
}
const workers = await Promise.all(urls.map(async (url) => ({ url, status: await workerStatus(url) })));
for (const line of fleetRows(workers)) console.log(line);
