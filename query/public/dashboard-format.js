// How the dashboard writes numbers: compact with their unit (12.5K events, 1.2M, 97.5 %), so an
// axis label or a figure reads at a glance and never needs more room than it is given. The unit
// follows the aggregate: counts are whole, amounts (sums, averages, extremes and percentiles of a
// money-like field) keep two decimals below 1,000, a quality score is a percentage.

const compact = (digits) =>
  new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: digits });
const COMPACT = [compact(0), compact(1), compact(2)];
const MONEY_FIELD = /amount|total|price|revenue|cost/i;

/**
 * What kind of number an aggregate's value is, from the stream's description (fn and field).
 * @returns {{kind: 'count'|'money'|'share'|'number', unit: string}}
 */
export function unitOf(stream, valueName) {
  if (valueName === 'quality_score') return { kind: 'share', unit: '%' };
  const agg = stream?.aggregations.find((a) => a.values.includes(valueName));
  if (agg === undefined) return { kind: 'number', unit: '' };
  if (agg.fn === 'count' || agg.fn === 'quality') return { kind: 'count', unit: 'events' };
  if (agg.fn === 'distinct') return { kind: 'count', unit: `distinct ${agg.field ?? ''}`.trim() };
  if (agg.field !== null && MONEY_FIELD.test(agg.field)) return { kind: 'money', unit: agg.field };
  return { kind: 'number', unit: agg.field ?? '' };
}

/** A number, compact: 250K, 1.2M, 12.5; never more than two decimals, none for whole counts. */
export function formatNumber(value, kind = 'number') {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (kind === 'share') return `${(value * 100).toFixed(1)} %`;
  const abs = Math.abs(value);
  if (kind === 'count' && abs < 1_000) return String(Math.round(value));
  if (kind === 'money' && abs < 1_000) return value.toFixed(2);
  return COMPACT[abs < 10 ? 2 : 1].format(value);
}

/**
 * Axis labels: compact for every kind (an axis reads 0, 500, 1K, not 0.00, 500.00, 1K), at most
 * two decimals; a share as a percentage.
 */
export const formatTick = (value, kind) =>
  kind === 'share' ? `${Math.round(value * 100)} %` : COMPACT[2].format(value);

/** A rate per second: 0.04/s, 0.5/s, 12/s, 1.2K/s. */
export function formatRate(perSecond) {
  if (perSecond === null || perSecond === undefined) return '–';
  if (perSecond === 0) return '0/s';
  if (perSecond < 1) return `${perSecond.toFixed(2)}/s`;
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${formatNumber(perSecond, 'number')}/s`;
}

/** A duration from milliseconds: 850 ms, 42 s, 3.5 min, 2.1 h. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const DAY_TIME = new Intl.DateTimeFormat('en-GB', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** A time of day (14:05), with the date when it is not today. */
export function formatTime(ms) {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? TIME.format(d) : DAY_TIME.format(d);
}
