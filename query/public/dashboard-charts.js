// The dashboard's two charts:
// - the time series of one aggregate by key (uPlot on a canvas), provisional windows shaded, its
//   y-axis as wide as its widest label (measured with the axis's own font, so 250K is never cut to
//   "0K") and its labels compact with the aggregate's unit;
// - the latest settled window by key as horizontal bars (plain elements: readable on a phone,
//   each value written out beside its bar).
// What each drew is left on the element as data attributes (labels, axis width) for the tests.
/* global uPlot */

import { formatNumber, formatTick, formatTime } from './dashboard-format.js';

const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#1b7c83', '#bc4c00', '#6e7781'];
const AXIS_FONT = '12px system-ui, sans-serif';
const MAX_BARS = 12;
const M = 60;
const TIME_STEPS = [
  M,
  2 * M,
  3 * M,
  5 * M,
  10 * M,
  15 * M,
  30 * M,
  60 * M,
  120 * M,
  180 * M,
  360 * M,
  720 * M,
  1440 * M,
];

/** An axis's size from its labels: the widest measured in the axis font, plus ticks and gap. */
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  // uPlot asks again until the size settles; past the second round keep the last answer.
  if (cycleNum > 1 && axis._size !== undefined) return axis._size;
  u.ctx.save();
  u.ctx.font = AXIS_FONT;
  const widest = (values ?? []).reduce((w, v) => Math.max(w, u.ctx.measureText(String(v ?? '')).width), 0);
  u.ctx.restore();
  return Math.ceil(widest + (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 8);
}

export function seriesColor(i) {
  return PALETTE[i % PALETTE.length];
}

/**
 * Draws (again) the time series of `agg` in `element`, destroying the previous chart.
 * @returns the uPlot instance
 */
export function drawLineChart(element, previous, rows, agg, unit) {
  const starts = [...new Set(rows.map((r) => Date.parse(r.window_start) / 1000))].sort((a, b) => a - b);
  const keys = [...new Set(rows.map((r) => r.key ?? '(all)'))].sort();
  const index = new Map(starts.map((t, i) => [t, i]));
  const series = keys.map(() => starts.map(() => null));
  const provisional = new Set();
  let max = null;
  for (const r of rows) {
    const i = index.get(Date.parse(r.window_start) / 1000);
    const value = r.values[agg] ?? null;
    series[keys.indexOf(r.key ?? '(all)')][i] = value;
    if (value !== null && (max === null || value > max)) max = value;
    if (r.status === 'provisional') provisional.add(i);
  }
  const shade = (u) => {
    // Provisional windows: a band from their start to the next start.
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(255, 196, 0, 0.25)';
    for (const i of provisional) {
      const x0 = u.valToPos(starts[i], 'x', true);
      const next = starts[i + 1] ?? starts[i] + (starts[1] - starts[0] || 60);
      const x1 = u.valToPos(next, 'x', true);
      ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
    }
    ctx.restore();
  };
  const drawn = (u) => {
    // What the axes show, for a person's screenshot and the tests alike.
    element.dataset.yLabels = JSON.stringify(u.axes[1]._values ?? []);
    element.dataset.yAxisWidth = String(Math.round(u.axes[1]._size ?? 0));
    element.dataset.xLabels = JSON.stringify(u.axes[0]._values ?? []);
  };
  previous?.destroy();
  element.dataset.points = String(rows.length);
  element.dataset.provisional = String(provisional.size);
  element.dataset.max = max === null ? '' : String(max);
  const width = Math.max(280, element.clientWidth || 900);
  const narrow = width < 600;
  return new uPlot(
    {
      width,
      height: narrow ? 240 : 320,
      scales: {
        x: { time: true },
        y: { range: (_u, min, hi) => [Math.min(0, min ?? 0), hi > 0 ? hi * 1.05 : 1] },
      },
      axes: [
        {
          font: AXIS_FONT,
          space: narrow ? 50 : 80,
          // Whole minutes and hours (2 and 3 among them, so a phone gets several labels, not one;
          // none under a minute, which hh:mm labels could not tell apart).
          incrs: TIME_STEPS,
          values: (_u, splits) => splits.map((s) => formatTime(s * 1000)),
          size: axisSize,
        },
        {
          font: AXIS_FONT,
          label: unit.unit,
          labelFont: AXIS_FONT,
          labelSize: 18,
          values: (_u, splits) => splits.map((s) => formatTick(s, unit.kind)),
          size: axisSize,
        },
      ],
      legend: { live: !narrow },
      series: [
        { value: (_u, v) => (v === null ? '–' : formatTime(v * 1000)) },
        ...keys.map((k, i) => ({
          label: k,
          stroke: seriesColor(i),
          width: 2,
          spanGaps: true,
          value: (_u, v) => formatNumber(v, unit.kind),
        })),
      ],
      hooks: { drawClear: [shade], draw: [drawn] },
    },
    [starts, ...series],
    element,
  );
}

/**
 * The latest settled window: the latest start at which every key's row is settled (the watermark
 * passed its end; amended rows were settled, then changed by a late event). One key's partition
 * ahead of another's does not make a window settled while another key's row is provisional.
 */
export function latestSettled(rows) {
  const open = new Set(rows.filter((r) => r.status === 'provisional').map((r) => r.window_start));
  let latest = null;
  for (const r of rows)
    if (!open.has(r.window_start) && (latest === null || r.window_start > latest)) latest = r.window_start;
  return { start: latest, rows: latest === null ? [] : rows.filter((r) => r.window_start === latest) };
}

/** Bars of `agg` by key for the latest settled window, in `element` (a list). */
export function drawBars(element, caption, rows, agg, unit) {
  const { start, rows: settled } = latestSettled(rows);
  const ranked = settled
    .map((r) => ({ key: r.key ?? '(all)', value: r.values[agg] ?? null }))
    .sort((a, b) => (b.value ?? Number.NEGATIVE_INFINITY) - (a.value ?? Number.NEGATIVE_INFINITY))
    .slice(0, MAX_BARS);
  const top = Math.max(0, ...ranked.map((b) => b.value ?? 0));
  caption.textContent =
    start === null
      ? 'no settled window yet in this range'
      : `window starting ${formatTime(Date.parse(start))}`;
  element.dataset.windowStart = start ?? '';
  element.replaceChildren(
    ...ranked.map((b) => {
      const li = document.createElement('li');
      li.className = 'bar';
      li.dataset.key = b.key;
      li.dataset.value = b.value === null ? '' : String(b.value);
      const key = document.createElement('span');
      key.className = 'bar-key';
      key.textContent = b.key;
      key.title = b.key;
      const track = document.createElement('span');
      track.className = 'bar-track';
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      // CSSOM, not a style attribute: the page's CSP allows no inline style.
      fill.style.width = `${top > 0 && b.value !== null ? Math.max(0, (b.value / top) * 100) : 0}%`;
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'bar-value';
      value.textContent = formatNumber(b.value, unit.kind);
      li.append(key, track, value);
      return li;
    }),
  );
}
