// The monitoring files in deploy/monitoring hold: promtool (built by ./sluice) accepts the
// alerting rules and the example Prometheus configuration, and the rules' unit tests pass, with a
// firing and a quiet case for every alert; the Grafana dashboard parses and its PromQL does too
// (promtool checks it as recording rules); and every metric the rules and the dashboard read is
// exported by the real services' /metrics, while every sluice metric they export has a panel.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { CommandResult } from '../../../shared/test/run-command.ts';
import { runCommand } from '../../../shared/test/run-command.ts';
import type { ServiceHandle, TestPipeline } from '../../../shared/test/services.ts';
import { ROOT, testPipeline } from '../../../shared/test/services.ts';
import type { GrafanaDashboard } from './promql-names.ts';
import { alertNames, dashboardExpressions, metricNames, ruleExpressions } from './promql-names.ts';

const PROMETHEUS_DIR = join(ROOT, 'deploy/monitoring/prometheus');
const RULES = join(PROMETHEUS_DIR, 'alerts.yml');
const RULE_TESTS = join(PROMETHEUS_DIR, 'alerts.test.yml');
const CONFIG = join(PROMETHEUS_DIR, 'prometheus.yml');
const DASHBOARD = join(ROOT, 'deploy/monitoring/grafana/sluice.json');
/** Series Prometheus makes itself, not a service. */
const PROMETHEUS_OWN = new Set(['up']);

const promtoolBin = (): string => {
  const bin = process.env.SLUICE_PROMTOOL_BIN;
  if (bin === undefined || bin === '')
    throw new Error('SLUICE_PROMTOOL_BIN is not set: run through ./sluice test');
  return bin;
};

/** promtool's exit code and output (a non-zero exit is a value here, not a throw). */
async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(promtoolBin(), args, { cwd: PROMETHEUS_DIR });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** `promtool check metrics` on an exposition (read from its standard input). */
function checkMetrics(exposition: string): Promise<CommandResult> {
  return runCommand(promtoolBin(), ['check', 'metrics'], { input: exposition });
}

const readDashboard = async () => JSON.parse(await readFile(DASHBOARD, 'utf8')) as GrafanaDashboard;

test('the metric-name reader finds metrics, not functions, labels or durations', () => {
  assert.deepEqual(
    [
      ...metricNames(
        'histogram_quantile(0.99, sum by (le, service) (rate(sluice_http_request_duration_seconds_bucket{route!="/x", status=~"5.."}[5m]))) > 1 and on (topic) max by (topic) (sluice_consumer_lag offset 1m) > 1e3 or up == 0',
      ),
    ].sort(),
    ['sluice_consumer_lag', 'sluice_http_request_duration_seconds_bucket', 'up'],
  );
});

test('promtool accepts the alerting rules and the example Prometheus configuration', async () => {
  const rules = await promtool('check', 'rules', RULES);
  assert.equal(rules.code, 0, rules.output);
  assert.match(rules.output, /SUCCESS: \d+ rules found/);
  const config = await promtool('check', 'config', CONFIG);
  assert.equal(config.code, 0, config.output);
});

test('every alert has unit tests that fire it and keep it quiet, and they pass', async () => {
  const alerts = alertNames(await readFile(RULES, 'utf8'));
  assert.ok(alerts.length >= 7, `alerts: ${alerts.join(', ')}`);
  // Each `- eval_time:` case names one alert and expects it firing (a list of alerts) or quiet ([]).
  const cases = (await readFile(RULE_TESTS, 'utf8')).split(/^\s*-\s+eval_time:/m).slice(1);
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const c of cases) {
    const name = /alertname:\s*(\S+)/.exec(c)?.[1];
    assert.ok(name !== undefined, `a case without an alertname: ${c}`);
    (/exp_alerts:\s*\[\]/.test(c) ? quiet : firing).add(name);
  }
  for (const alert of alerts) {
    assert.ok(firing.has(alert), `${alert} has no case where it fires`);
    assert.ok(quiet.has(alert), `${alert} has no case where it stays quiet`);
  }
  const run = await promtool('test', 'rules', RULE_TESTS);
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, /SUCCESS/);
});

test("the Grafana dashboard's PromQL parses (checked by promtool as recording rules)", async () => {
  const expressions = dashboardExpressions(await readDashboard());
  assert.ok(expressions.length >= 20, `${expressions.length} expressions`);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-grafana-'));
  try {
    const file = join(dir, 'grafana-expressions.yml');
    // JSON strings are YAML double-quoted scalars: no escaping of our own.
    const rules = expressions.map(
      ({ expr }, i) => `      - record: grafana:expression_${i}\n        expr: ${JSON.stringify(expr)}`,
    );
    await writeFile(file, `groups:\n  - name: grafana\n    rules:\n${rules.join('\n')}\n`);
    const check = await promtool('check', 'rules', file);
    assert.equal(
      check.code,
      0,
      `${check.output}\n${expressions.map((e) => `${e.where}: ${e.expr}`).join('\n')}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('against the four running services (edge, ingest, processor, query)', () => {
  // The rules and the dashboard read only what the services export; the dashboard shows all of it.
  let p: TestPipeline;
  const services: Record<string, ServiceHandle> = {};
  before(async () => {
    p = await testPipeline('monitoring', { SLUICE_STREAMS: 'ecommerce', SLUICE_OPS_OPEN: 'true' });
    services.ingest = await p.start('ingest');
    services.processor = await p.start('processor');
    services.query = await p.start('query');
    services.edge = await p.start('edge', { SLUICE_INGEST_URL: services.ingest.url });
  });
  after(() => p.close());

  /** Every metric family each service exposes, by name, with its type (`# TYPE` lines). */
  const exported = async () => {
    const types = new Map<string, string>();
    for (const [name, service] of Object.entries(services)) {
      const response = await fetch(`${service.url}/metrics`);
      assert.equal(response.status, 200, `${name} /metrics`);
      for (const m of (await response.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm))
        if (m[1] !== undefined && m[2] !== undefined) types.set(m[1], m[2]);
    }
    return types;
  };
  const exists = (types: Map<string, string>, name: string) => {
    if (types.has(name) || PROMETHEUS_OWN.has(name)) return true;
    const series = /^(.+)_(bucket|sum|count)$/.exec(name);
    const family = series?.[1] === undefined ? undefined : types.get(series[1]);
    return family === 'histogram' || family === 'summary';
  };

  test('every metric the rules and the dashboard read is exported by a running service', async () => {
    const types = await exported();
    assert.ok(
      types.has('sluice_http_requests_total') && types.has('sluice_consumer_lag'),
      'scraped all four',
    );
    const read = new Map<string, string>();
    for (const expr of ruleExpressions(await readFile(RULES, 'utf8')))
      for (const name of metricNames(expr)) read.set(name, `alerts.yml: ${expr}`);
    for (const { where, expr } of dashboardExpressions(await readDashboard()))
      for (const name of metricNames(expr)) read.set(name, `sluice.json ${where}: ${expr}`);
    assert.ok(read.size >= 20, `names read: ${[...read.keys()].join(', ')}`);
    const missing = [...read]
      .filter(([name]) => !exists(types, name))
      .map(([name, where]) => `${name} (${where})`);
    assert.deepEqual(missing, [], 'metrics no service exports');
  });

  // prom-client's own default metrics (nodejs_*, process_*) are left to it: three of its gauges
  // end in _total, which the lint flags; every other finding fails the test.
  test("every service's /metrics passes promtool's exposition lint, prom-client's defaults aside", async () => {
    for (const [name, service] of Object.entries(services)) {
      const lint = await checkMetrics(await (await fetch(`${service.url}/metrics`)).text());
      const findings = lint.output.split('\n').filter((line) => line.trim() !== '');
      const ours = findings.filter((line) => !/^(nodejs|process)_\S+ /.test(line));
      assert.deepEqual(ours, [], `${name}: ${lint.output}`);
      if (findings.length === 0) assert.equal(lint.code, 0, `${name}: ${lint.output}`);
    }
  });

  test('every sluice metric the services export has a panel on the dashboard', async () => {
    const types = await exported();
    const shown = new Set<string>();
    for (const { expr } of dashboardExpressions(await readDashboard()))
      for (const name of metricNames(expr)) shown.add(name.replace(/_(bucket|sum|count)$/, ''));
    const unshown = [...types.keys()].filter((name) => name.startsWith('sluice_') && !shown.has(name));
    assert.deepEqual(
      unshown,
      [],
      'exported sluice metrics without a panel in deploy/monitoring/grafana/sluice.json',
    );
  });
});
