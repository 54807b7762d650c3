// k6 load for `./sluice load` (tools/load.ts writes the plan and the sample pool, then runs this).
// Scenario `events` posts NDJSON batches of the stream's sample payloads to /v1/events, each event
// with a fresh id (so dedup does not swallow a copy) and an event time of now; scenario `freshness`
// polls GET /v1/streams/{s} once a second and records now - watermark. The options (executors per
// profile, thresholds that encode the stream's promise) come from the plan: see tools/load/profiles.ts.
// Keys come in the environment (WRITE_KEY, READ_KEY), never in a file or on a command line.

import { check } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';

const plan = JSON.parse(open(__ENV.PLAN));
// One copy of the pool for every VU, not one each.
const pool = new SharedArray('samples', () => JSON.parse(open(__ENV.POOL)));

export const options = plan.options;

const freshnessMs = new Trend('sluice_freshness', true);
const caughtUp = new Counter('sluice_caught_up');
const sent = new Counter('sluice_events_sent');
const accepted = new Counter('sluice_events_accepted');

const WRITE = { Authorization: `Bearer ${__ENV.WRITE_KEY}`, 'Content-Type': 'application/x-ndjson' };
const READ = { Authorization: `Bearer ${__ENV.READ_KEY}` };

export function setup() {
  return { start: Date.now() };
}

export function send() {
  const iteration = exec.scenario.iterationInTest;
  const now = Date.now();
  const time = plan.timeFormat === 'epoch_ms' ? now : new Date(now).toISOString();
  const lines = [];
  for (let i = 0; i < plan.batch; i++) {
    const id = `${plan.runId}-${iteration}-${i}`;
    const data = Object.assign({}, pool[(iteration * plan.batch + i) % pool.length]);
    if (plan.idField !== null) data[plan.idField] = id;
    const event = { id, stream: plan.stream, data };
    if (plan.eventTime !== null) data[plan.eventTime] = time;
    else event.time = time;
    lines.push(JSON.stringify(event));
  }
  const res = http.post(`${plan.target}/v1/events`, lines.join('\n'), {
    headers: WRITE,
    tags: { name: 'POST /v1/events' },
  });
  sent.add(plan.batch);
  const taken = res.status === 202 ? Number(res.json('accepted')) : 0;
  accepted.add(taken);
  check(res, { 'every event of the batch accepted (202)': () => res.status === 202 && taken === plan.batch });
}

// The lowest watermark of the partitions that are live: one further back than the bound when the
// run started has had no events for longer than the stream promises anything about (none of
// this run's keys hash to it); it is left out rather than reported as this run's lag. Before any
// partition has a watermark, the run's first events are waiting: the lag counts from them.
// The partitions are an operator's view (a read key that also holds `admin`; `./sluice load` uses
// the demo's demo-ops key): with a plain read key `lag.partitions` is null and the stream's own
// watermark (its lowest partition's, idle ones included) stands in for them.
export function freshness(run) {
  const res = http.get(`${plan.query}/v1/streams/${plan.stream}`, {
    headers: READ,
    tags: { name: 'GET /v1/streams/{stream}' },
  });
  if (res.status !== 200) return;
  const now = Date.now();
  const runFloor = run.start - plan.watermarkMs;
  const partitions = res.json('lag.partitions') ?? [{ watermark: res.json('watermark') }];
  const live = partitions
    .map((p) => (p.watermark === null ? null : Date.parse(p.watermark)))
    .filter((w) => w !== null && w >= runFloor - plan.freshnessBoundMs);
  const lowest = live.length === 0 ? runFloor : Math.min(...live);
  freshnessMs.add(now - lowest);
  // Every live partition's watermark has reached this run's events: the processor keeps up.
  if (live.length > 0 && lowest >= runFloor) caughtUp.add(1);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data, null, 2), stdout: report(data) };
}

function report(data) {
  const m = data.metrics;
  const value = (name, stat) => m[name]?.values?.[stat];
  const lines = [
    '',
    `sluice load: ${plan.stream}, profile ${plan.profile}, ${plan.rate} events/s for ${plan.durationS}s to ${plan.target}`,
    `  events sent ${value('sluice_events_sent', 'count') ?? 0}, accepted ${value('sluice_events_accepted', 'count') ?? 0}` +
      ` (samples: ${plan.source}); freshness bound ${plan.freshnessBoundMs} ms` +
      ` (watermark ${plan.watermarkMs} ms + one window period)`,
  ];
  for (const [name, metric] of Object.entries(m)) {
    for (const [expression, threshold] of Object.entries(metric.thresholds ?? {})) {
      const shown = Object.entries(metric.values)
        .map(([k, v]) => `${k}=${Math.round(v * 1000) / 1000}`)
        .join(' ');
      lines.push(`  ${threshold.ok ? 'ok  ' : 'FAIL'} ${name} ${expression}   (${shown})`);
    }
  }
  lines.push('');
  return lines.join('\n');
}
