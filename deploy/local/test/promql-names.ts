// The metric names a PromQL expression reads, and the expressions of the monitoring files (the
// alerting rules' YAML, the Grafana dashboard's JSON), so a test can hold every name they use
// against what the services really export. A name-level reader, not a PromQL parser: promtool
// checks that the expressions parse.

/** Words of PromQL that look like metric names but are not. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names `expr` selects (function names, labels, keywords and durations left out). */
export function metricNames(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const at = match.index;
    const before = bare[at - 1] ?? ' ';
    // A duration's unit (5m) or an exponent (1e3) follows a digit.
    if (/[0-9.]/.test(before)) continue;
    const after = bare.slice(at + name.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return names;
}

/**
 * The `expr:` values of a Prometheus rule file as this project writes them: inline on the key's
 * line, or a block scalar (`|`, `>`) on the lines indented deeper below it.
 */
export function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const key = /^(\s*)(?:-\s+)?expr:\s*(.*)$/.exec(line);
    if (key === null) return;
    const indent = (key[1] ?? '').length;
    const value = (key[2] ?? '').trim();
    if (!/^[|>][-+]?$/.test(value)) {
      out.push(value.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'));
      return;
    }
    const block: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (next.trim() !== '' && next.search(/\S/) <= indent) break;
      block.push(next.trim());
    }
    out.push(block.join(' ').trim());
  });
  return out;
}

/** The names of the alerts a rule file defines. */
export function alertNames(yaml: string): string[] {
  return [...yaml.matchAll(/^\s*-\s+alert:\s*(\S+)\s*$/gm)].map((m) => m[1] ?? '');
}

interface GrafanaTarget {
  readonly refId?: string;
  readonly expr?: string;
}
interface GrafanaPanel {
  readonly id?: number;
  readonly title?: string;
  readonly targets?: readonly GrafanaTarget[];
  readonly panels?: readonly GrafanaPanel[];
}
export interface GrafanaDashboard {
  readonly panels: readonly GrafanaPanel[];
  readonly templating?: { readonly list: readonly { readonly name: string; readonly definition?: string }[] };
}

/** One PromQL expression of a dashboard, named by where it is. */
export interface DashboardExpression {
  readonly where: string;
  readonly expr: string;
}

/**
 * Every PromQL expression of a dashboard: its panels' targets (rows' nested panels included) and
 * its query variables' `label_values(metric, label)` (as the metric selector it reads). Grafana's
 * own variables are replaced by what a Prometheus evaluation would see ($__rate_interval a
 * duration, a multi-value variable a regex).
 */
export function dashboardExpressions(dashboard: GrafanaDashboard): DashboardExpression[] {
  const out: DashboardExpression[] = [];
  const walk = (panels: readonly GrafanaPanel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr === undefined) continue;
        out.push({
          where: `panel ${panel.id} "${panel.title}" ${target.refId}`,
          expr: concrete(target.expr),
        });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const labelValues = /^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(variable.definition ?? '');
    if (labelValues?.[1] !== undefined)
      out.push({ where: `variable ${variable.name}`, expr: labelValues[1] });
  }
  return out;
}

const concrete = (expr: string) =>
  expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, '.*');
