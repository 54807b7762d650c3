// ./sluice bench dedup: the cost of an event-id claim in Redis (guarantee 2), per claim: Redis's
// own CPU (INFO cpu) and the client's, and the memory a claim holds, for the compact claims the
// processor uses (8-byte id hashes in small listpack hashes), against the baseline of one key per
// id (SET NX GET PX) measured in the same run on the same Redis. Event times advance at `--rate`
// events/s on the one partition claimed (default: the seed's 1,000 events/s over 6 partitions),
// and the figure for a day of claims at 1,000 events/s (the default 24 h horizon) is printed.

import { Redis } from 'ioredis';
import { createDedup } from '../processor/src/stores/dedup-claims.ts';
import { stackEnv } from '../shared/test/harness.ts';
import { deleteRedisKeys } from '../shared/test/services.ts';
import { parseCliArgs } from '../tools/cli-args.ts';

const { values } = parseCliArgs(
  { options: { claims: { type: 'string', default: '100000' }, rate: { type: 'string', default: '167' } } },
  './sluice bench dedup [--claims N] [--rate EVENTS_PER_S]',
);
const STEP_MS = 1_000 / Math.max(1, Number(values.rate));
const N = Math.min(Number(values.claims), 1_000_000);
const BATCH = 200;
const redis = new Redis(stackEnv().redisUrl);
const redisCpu = async () => {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
};
const run = `bench-dedup-${Date.now()}`;
const T0 = Date.parse('2026-01-01T00:00:00Z');

async function hashClaims(): Promise<void> {
  const dedup = createDedup({ redis, prefix: `${run}:h:` });
  for (let i = 0; i < N; i += BATCH) {
    const claims = Array.from({ length: BATCH }, (_, j) => ({
      tenant: 'default',
      id: `bench-1-${i + j}-xyz`,
      time: T0 + Math.floor((i + j) * STEP_MS),
      offset: BigInt(i + j),
    }));
    await dedup.claim('ecommerce', 0, 86_400_000, claims);
  }
}

async function keyPerId(): Promise<void> {
  for (let i = 0; i < N; i += BATCH) {
    const pipeline = redis.pipeline();
    for (let j = 0; j < BATCH; j++)
      pipeline.set(
        `${run}:k:{ecommerce}:default:bench-1-${i + j}-xyz`,
        String(i + j),
        'PX',
        86_400_000,
        'NX',
        'GET',
      );
    await pipeline.exec();
  }
}

async function measure(name: string, body: () => Promise<void>) {
  const memory0 = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  const server0 = await redisCpu();
  const client0 = process.cpuUsage();
  const started = performance.now();
  await body();
  const wall = performance.now() - started;
  const server = ((await redisCpu()) - server0) * 1e6;
  const client = process.cpuUsage(client0);
  const memory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]) - memory0;
  const figures = {
    claimsPerSecond: Math.round((N / wall) * 1000),
    redisCpuUsPerClaim: server / N,
    clientCpuUsPerClaim: (client.user + client.system) / N,
    bytesPerClaim: memory / N,
  };
  console.log(
    `  ${name.padEnd(28)} ${String(figures.claimsPerSecond).padStart(8)} claims/s  redis ${figures.redisCpuUsPerClaim.toFixed(2)} µs  client ${figures.clientCpuUsPerClaim.toFixed(2)} µs  ${figures.bytesPerClaim.toFixed(0)} B/claim`,
  );
  return figures;
}

console.log(`sluice bench dedup: ${N} claims in batches of ${BATCH} against ${stackEnv().redisUrl}`);
const baseline = await measure('key per id (baseline)', keyPerId);
const hashed = await measure('compact claims (sluice)', hashClaims);
console.log(
  `  ratio sluice / baseline: throughput ${(hashed.claimsPerSecond / baseline.claimsPerSecond).toFixed(2)}, redis cpu ${(hashed.redisCpuUsPerClaim / baseline.redisCpuUsPerClaim).toFixed(2)}, memory ${(hashed.bytesPerClaim / baseline.bytesPerClaim).toFixed(2)}`,
);
const day = 1_000 * 86_400;
console.log(
  `  a day of claims at 1,000 events/s (${day.toLocaleString('en')}): ${((hashed.bytesPerClaim * day) / 2 ** 30).toFixed(2)} GiB (key per id: ${((baseline.bytesPerClaim * day) / 2 ** 30).toFixed(2)} GiB)`,
);
// The run's keys go again: a benchmark leaves nothing behind.
await deleteRedisKeys(stackEnv().redisUrl, `${run}:*`);
await redis.quit();
