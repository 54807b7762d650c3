// The health row: GET /v1/streams/{stream}/health once, then its `health` events on the live
// connection. Two groups, named for whose figures they are: the key's tenant's (events/s by event
// time, data quality, from its own windows) and the stream's (rates, lags, late and DLQ counts:
// every tenant's records share the topic, so these add up every tenant's volume). The API gives the
// stream's to an operator's key only (one that also holds `admin`; `per_stream` is null for any
// other): without them the group is hidden and a one-line note says what would show it.
// Each figure keeps its raw value in data-value, beside the text a person reads.

import { formatDuration, formatNumber, formatRate, formatTime } from './dashboard-format.js';

/** [element id, where in the answer, how it reads]: the tenant's, then the stream's (operator's). */
const TENANT_FIGURES = [
  ['h-tenant-rate', (h) => h.per_tenant.events_per_second, formatRate],
  ['h-quality', (h) => h.per_tenant.quality_score, (v) => formatNumber(v, 'share')],
];
const STREAM_FIGURES = [
  ['h-in', (h) => h.per_stream.events_in_per_second, formatRate],
  ['h-processed', (h) => h.per_stream.events_processed_per_second, formatRate],
  ['h-consumer-lag', (h) => h.per_stream.consumer_lag, (v) => formatNumber(v, 'count')],
  ['h-watermark-lag', (h) => h.per_stream.watermark_lag_ms, formatDuration],
  ['h-late', (h) => h.per_stream.late, (v) => formatNumber(v, 'count')],
  ['h-dlq', (h) => h.per_stream.dlq, (v) => formatNumber(v, 'count')],
];

const $ = (id) => document.getElementById(id);

/** Shows one health answer (from the route or a live `health` event) of a stream with or without rules. */
export function showHealth(health, hasRules) {
  const s = health.per_stream;
  for (const [id, pick, format] of s === null ? TENANT_FIGURES : [...TENANT_FIGURES, ...STREAM_FIGURES]) {
    const output = $(id);
    const value = pick(health);
    output.textContent = format(value);
    output.dataset.value = value === null || value === undefined ? '' : String(value);
  }
  // A stream without rules has no score to show (null then means "none declared", not "no events").
  if (!hasRules) {
    $('h-quality').textContent = 'no rules';
    $('h-quality').title = 'this stream declares no data-quality rules';
  } else $('h-quality').title = '';
  $('h-stream').hidden = s === null;
  $('h-stream-absent').hidden = s !== null;
  if (s !== null) {
    // Lag or dead letters draw the eye; a stream with no reporting partition says so.
    $('h-consumer-lag').closest('.stat').dataset.level = (s.consumer_lag ?? 0) > 1_000 ? 'warn' : 'ok';
    $('h-dlq').closest('.stat').dataset.level = s.dlq > 0 ? 'warn' : 'ok';
    $('h-stream-note').textContent =
      s.partitions_reporting === 0
        ? 'no processor has reported yet'
        : `${s.partitions_reporting} of ${s.partitions} partitions reporting`;
  }
  $('h-tenant-note').textContent =
    health.per_tenant.window === null
      ? 'this stream has no tumbling window with a count'
      : `by event time, ${health.per_tenant.window} windows since ${formatTime(Date.parse(health.per_tenant.since))}`;
  $('health').dataset.asOf = health.as_of;
  $('health').dataset.tenant = health.tenant;
}
