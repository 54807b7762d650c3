// ./sluice bench webhooks (issue 22's closing figures):
// (a) the CPU cost of verifying a delivery: verifyDelivery in this process, N times per provider,
//     with the edge's MACs (Web Crypto) and ingest's (node:crypto),
//     on deliveries signed by the providers' own packages (shared/test/webhook-deliveries.ts): a
//     ~7 KB published GitHub push example, a Stripe event, and the other schemes; accepted and
//     refused (wrong signature) alike, µs of CPU per delivery (process.cpuUsage, every thread).
// (b) the throughput of signed GitHub deliveries to ingest's POST /v1/webhooks/{id} against
//     unsigned POST /v1/events (one event a request, the same body size, the same concurrency)
//     in the same run on the same ingest (SLUICE_AUTH=on, a write key without limits, a source
//     without quota), in alternating rounds: deliveries/s, p50/p99 latency, ingest CPU per
//     request, the ratio signed/unsigned, and the CPU the hypervisor stole meanwhile.
// On its own isolation (topics, database, Redis keys), removed at the end. Asserts nothing but
// that every request of a round was answered as it should be.

import { randomUUID } from 'node:crypto';
import { nodeMacs } from '../shared/src/webhooks/node-macs.ts';
import { macs } from '../shared/src/webhooks/signing-keys.ts';
import type { Provider, WebhookSource } from '../shared/src/webhooks/source.ts';
import { PROVIDERS, sourceOptionsSchema } from '../shared/src/webhooks/source.ts';
import { verifyDelivery } from '../shared/src/webhooks/verify.ts';
import { createTestKey } from '../shared/test/keys.ts';
import { isolate, startService } from '../shared/test/services.ts';
import type { DeliveryFacts } from '../shared/test/webhook-deliveries.ts';
import {
  freshSecret,
  githubExample,
  HMAC_SCHEME,
  signDelivery,
  stripeEvent,
} from '../shared/test/webhook-deliveries.ts';
import { addTestSource } from '../shared/test/webhook-sources.ts';
import { parseCliArgs } from '../tools/cli-args.ts';
import { stolenMeter } from './cpu-census.ts';
import { cpuSeconds, printReport } from './report.ts';

const { values: args } = parseCliArgs(
  {
    options: {
      iterations: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      'round-seconds': { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '16' },
    },
  },
  './sluice bench webhooks [--iterations N] [--rounds R] [--round-seconds S] [--concurrency C]',
);
const iterations = Math.max(1, Math.min(Math.floor(Number(args.iterations)) || 0, 100_000));
const rounds = Math.max(1, Math.min(Math.floor(Number(args.rounds)) || 0, 10));
const roundSeconds = Math.max(1, Math.min(Number(args['round-seconds']) || 0, 60));
const concurrency = Math.max(1, Math.min(Math.floor(Number(args.concurrency)) || 0, 128));

const encoder = new TextEncoder();
const push = JSON.stringify(githubExample('push'));

/** A fair delivery body of each provider: GitHub's published push example, a Stripe event... */
function sampleOf(provider: Provider): { body: string; facts: DeliveryFacts } {
  switch (provider) {
    case 'github':
      return { body: push, facts: { id: randomUUID(), type: 'push' } };
    case 'stripe':
      return {
        body: JSON.stringify(stripeEvent('evt_1PgXYZ2eZvKYlo2CabcDEF12')),
        facts: { id: '', type: '' },
      };
    case 'standard-webhooks':
      return {
        body: JSON.stringify({ type: 'invoice.paid', data: { id: 'inv_1' } }),
        facts: { id: 'msg_1', type: '' },
      };
    case 'shopify':
      return {
        body: JSON.stringify({ id: 820982911946154500, total_price: '199.65' }),
        facts: { id: 'b5', type: 'orders/create' },
      };
    case 'slack':
      return {
        body: JSON.stringify({
          team_id: 'T1',
          type: 'event_callback',
          event_id: 'Ev1',
          event: { type: 'app_mention' },
        }),
        facts: { id: '', type: '' },
      };
    case 'hmac':
      return { body: JSON.stringify({ order: { id: 'o-1' } }), facts: { id: 'dlv-1', type: 'order.paid' } };
  }
}

/** µs of this process's CPU per verifyDelivery, accepted and refused, per provider. */
async function verificationCost(): Promise<Record<string, string>> {
  const report: Record<string, string> = {};
  for (const provider of PROVIDERS) {
    const secret = freshSecret(provider);
    const source: WebhookSource = {
      id: `wh_${'b'.repeat(26)}`,
      tenant: 'bench',
      provider,
      secrets: [{ value: secret, retiresAt: null }],
      stream: 'webhooks',
      options: sourceOptionsSchema.parse(provider === 'hmac' ? { hmac: HMAC_SCHEME } : {}),
    };
    const { body, facts } = sampleOf(provider);
    const bytes = encoder.encode(body);
    const valid = new Headers(await signDelivery(provider, secret, body, facts));
    const forged = new Headers(await signDelivery(provider, freshSecret(provider), body, facts));
    // The edge's MACs (Web Crypto) and ingest's (node:crypto), each on the same deliveries.
    for (const [who, macsOf] of [
      ['edge', macs],
      ['ingest', nodeMacs],
    ] as const)
      for (const [what, headers, wantOk] of [
        ['accepted', valid, true],
        ['refused', forged, false],
      ] as const) {
        // Warm: the key import (once per secret), the JIT.
        for (let i = 0; i < 200; i++)
          await verifyDelivery(source, { headers, body: bytes }, Date.now(), macsOf);
        const before = process.cpuUsage();
        for (let i = 0; i < iterations; i++) {
          const result = await verifyDelivery(source, { headers, body: bytes }, Date.now(), macsOf);
          if (result.ok !== wantOk) throw new Error(`${provider} ${what}: unexpected verdict`);
        }
        const used = process.cpuUsage(before);
        const us = (used.user + used.system) / iterations;
        report[`${provider} ${what} (${bytes.length} B body), ${who}`] = `${us.toFixed(1)} µs CPU/delivery`;
      }
  }
  return report;
}

interface Round {
  readonly requests: number;
  readonly seconds: number;
  readonly latencies: number[];
  readonly ingestCpuSeconds: number;
}

/** Posts as fast as `concurrency` clients can for `seconds`; every answer must be `status`. */
async function drive(
  make: () => { url: string; init: RequestInit },
  status: number,
  seconds: number,
  ingestPid: number,
): Promise<Round> {
  const latencies: number[] = [];
  const cpuBefore = await cpuSeconds(ingestPid);
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const { url, init } = make();
        const at = performance.now();
        const response = await fetch(url, init);
        await response.arrayBuffer();
        latencies.push(performance.now() - at);
        if (response.status !== status) throw new Error(`${url}: ${response.status}, wanted ${status}`);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: latencies.length,
    seconds: elapsed,
    latencies,
    ingestCpuSeconds: (await cpuSeconds(ingestPid)) - cpuBefore,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function summary(all: readonly Round[]) {
  const requests = all.reduce((n, r) => n + r.requests, 0);
  const seconds = all.reduce((n, r) => n + r.seconds, 0);
  const sorted = all.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const cpu = all.reduce((n, r) => n + r.ingestCpuSeconds, 0);
  return {
    rate: requests / seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    cpuUsPerRequest: (cpu * 1e6) / requests,
    requests,
  };
}

async function throughput(): Promise<Record<string, string>> {
  const iso = await isolate('benchwh');
  const services: { stop(): Promise<unknown> }[] = [];
  try {
    const writer = await createTestKey(iso.databaseUrl, { tenant: 'bench', scopes: ['events:write'] });
    const secret = freshSecret('github');
    const source = await addTestSource(iso.databaseUrl, { tenant: 'bench', provider: 'github', secret });
    const ingest = await startService('ingest', {
      ...iso.env,
      SLUICE_AUTH: 'on',
      SLUICE_OPS_OPEN: 'true',
      SLUICE_TRACE_SAMPLE_RATIO: '0',
    });
    services.push(ingest);
    if (ingest.pid === undefined) throw new Error('ingest has no pid');
    const signature = (await signDelivery('github', secret, push, { id: 'x', type: 'push' }))[
      'x-hub-signature-256'
    ];
    if (signature === undefined) throw new Error('no GitHub signature');
    // GitHub signs the body only: one signature serves every delivery id.
    const signed = () => ({
      url: `${ingest.url}${source.url}`,
      init: {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signature,
          'x-github-delivery': randomUUID(),
          'x-github-event': 'push',
        },
        body: push,
      },
    });
    // The same body size: an ecommerce event carrying the same push example (the stream keeps
    // only its own fields, so its Kafka record is the smaller one: the comparison favours unsigned).
    const eventBody = (id: string) =>
      JSON.stringify({
        stream: 'ecommerce',
        id,
        data: {
          transaction_id: id,
          user_id: 'u-1',
          product_category: 'books',
          product_name: 'A book',
          amount: 12.5,
          timestamp: new Date().toISOString(),
          payment_method: 'card',
          payload: JSON.parse(push) as unknown,
        },
      });
    const unsigned = () => ({
      url: `${ingest.url}/v1/events`,
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writer.key}` },
        body: eventBody(randomUUID()),
      },
    });
    // Wait for the source in ingest's table (NOTIFY, then a 1 s poll), then warm both paths.
    for (let i = 0; i < 100; i++) {
      const probe = await fetch(signed().url, signed().init);
      await probe.arrayBuffer();
      if (probe.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await drive(signed, 200, 1, ingest.pid);
    await drive(unsigned, 202, 1, ingest.pid);
    const stealing = await stolenMeter();
    const old: Round[] = [];
    const fresh: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      old.push(await drive(unsigned, 202, roundSeconds, ingest.pid));
      fresh.push(await drive(signed, 200, roundSeconds, ingest.pid));
    }
    const stolen = await stealing.share();
    const u = summary(old);
    const s = summary(fresh);
    const bytes = {
      signed: encoder.encode(push).length,
      unsigned: encoder.encode(eventBody(randomUUID())).length,
    };
    return {
      'request body, signed / unsigned': `${bytes.signed} B / ${bytes.unsigned} B`,
      'rounds (alternating, unsigned first)': `${rounds} x ${roundSeconds} s each, ${concurrency} in flight`,
      'unsigned POST /v1/events': `${u.rate.toFixed(0)} req/s, p50 ${u.p50.toFixed(2)} ms, p99 ${u.p99.toFixed(2)} ms, ingest ${u.cpuUsPerRequest.toFixed(0)} µs CPU/req (${u.requests} requests)`,
      'signed POST /v1/webhooks/{id}': `${s.rate.toFixed(0)} deliveries/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, ingest ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req (${s.requests} deliveries)`,
      'throughput signed / unsigned': `${(s.rate / u.rate).toFixed(2)}`,
      'ingest CPU per request signed / unsigned': `${(s.cpuUsPerRequest / u.cpuUsPerRequest).toFixed(2)}`,
      'CPU stolen by the hypervisor meanwhile': `${Math.round(100 * stolen)} %`,
    };
  } finally {
    await Promise.allSettled(services.map((s) => s.stop()));
    await iso.cleanup();
  }
}

console.log(`verification CPU per delivery (verifyDelivery in-process, ${iterations} each):`);
printReport(await verificationCost());
console.log('\nthroughput on one ingest (SLUICE_AUTH=on; the load generator shares the machine):');
printReport(await throughput());
