// Reads a service's /metrics with a Prometheus text parser (a malformed exposition throws) and
// sums a metric's samples over the labels given, for tests that count what moved. The parser
// keeps a histogram's `_count` and `_sum` only when it has no labels (every sluice metric has a
// `service` label), so those two series are read from their sample lines instead.

import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Counter, Registry } from 'prom-client';

export interface Scrape {
  /** Sum of a counter's or gauge's samples whose labels include `labels`. */
  sum(name: string, labels?: Readonly<Record<string, string>>): number;
  /** A histogram's observations and their sum, over the series whose labels include `labels`. */
  histogram(name: string, labels?: Readonly<Record<string, string>>): { count: number; sum: number };
  readonly names: ReadonlySet<string>;
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`${baseUrl}/metrics answered ${response.status}`);
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/plain')) throw new Error(`${baseUrl}/metrics is ${contentType}`);
  return parseScrape(await response.text());
}

/** A scrape of Prometheus text already read (an in-process app's /metrics, say). */
export function parseScrape(text: string): Scrape {
  const families = parsePrometheusTextFormat(text);
  const byName = new Map(families.map((family) => [family.name, family]));
  return {
    names: new Set(byName.keys()),
    sum(name, labels = {}) {
      const family = byName.get(name);
      if (family === undefined) return 0;
      let total = 0;
      for (const sample of family.metrics) {
        const matches = Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);
        if (matches) total += Number(sample.value ?? 0);
      }
      return total;
    },
    histogram(name, labels = {}) {
      const total = { count: 0, sum: 0 };
      const line = new RegExp(`^${name}_(count|sum)\\{([^}]*)\\} (\\S+)$`, 'gm');
      for (const [, part, rawLabels, value] of text.matchAll(line)) {
        const present = new Set((rawLabels ?? '').split(','));
        if (!Object.entries(labels).every(([k, v]) => present.has(`${k}="${v}"`))) continue;
        total[part === 'count' ? 'count' : 'sum'] += Number(value);
      }
      return total;
    },
  };
}

/** A counter by `outcome`, in a registry of its own, for a unit handed a metric to count into. */
export function outcomeCounter(name: string): Counter<'outcome'> {
  return new Counter({ name, help: name, labelNames: ['outcome'] as const, registers: [new Registry()] });
}

/** A counter's values by outcome. */
export async function countsByOutcome(counter: Counter<'outcome'>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await counter.get()).values) out[String(v.labels.outcome)] = v.value;
  return out;
}
