// The sluice dashboard (browser code, no build step): per stream, a chart of one aggregate by key
// over the chosen range (provisional windows shaded), a table of the latest windows with links to
// their traces in Jaeger, and live updates over Server-Sent Events without a reload. It reads only
// the public API: /v1/streams, /v1/streams/{stream}/windows and /v1/streams/{stream}/live.
/* global uPlot */

const $ = (id) => document.getElementById(id);
const jaegerUi = document.body.dataset.jaegerUi || 'http://127.0.0.1:16686';
const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#1b7c83', '#bc4c00', '#6e7781'];
const TABLE_ROWS = 30;

const state = {
  streams: [],
  /** window_start|key -> row, for the stream, window and range shown */
  rows: new Map(),
  source: undefined,
  chart: undefined,
  renderQueued: false,
  updates: 0,
};

const params = () => ({
  stream: $('stream').value,
  window: $('window').value,
  agg: $('agg').value,
  range: $('range').value,
});
const rowId = (r) => `${r.window_start}|${r.key}`;

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function fillSelect(select, values, selected) {
  select.replaceChildren(
    ...values.map((v) => {
      const option = document.createElement('option');
      option.value = v;
      option.textContent = v;
      option.selected = v === selected;
      return option;
    }),
  );
}

function onStreamChange() {
  const stream = state.streams.find((s) => s.name === $('stream').value);
  if (stream === undefined) return;
  fillSelect(
    $('window'),
    stream.windows.map((w) => w.name),
    stream.windows[0]?.name,
  );
  const values = stream.aggregations.flatMap((a) => a.values);
  fillSelect($('agg'), values, values.includes('sum_amount') ? 'sum_amount' : values[0]);
  reload();
}

/** Reads every page of the range, then listens for updates. */
async function reload() {
  const { stream, window, range } = params();
  state.rows.clear();
  let cursor = null;
  do {
    const q = new URLSearchParams({ window, from: range, limit: '5000' });
    if (cursor !== null) q.set('cursor', cursor);
    const page = await getJson(`/v1/streams/${encodeURIComponent(stream)}/windows?${q}`);
    for (const row of page.data) state.rows.set(rowId(row), row);
    $('watermark').textContent = page.watermark ?? '-';
    cursor = page.next_cursor;
  } while (cursor !== null);
  render();
  listen();
}

function listen() {
  const { stream, window } = params();
  state.source?.close();
  const source = new EventSource(
    `/v1/streams/${encodeURIComponent(stream)}/live?window=${encodeURIComponent(window)}`,
  );
  state.source = source;
  const live = $('live');
  source.addEventListener('ready', () => {
    live.dataset.state = 'open';
    live.textContent = 'live: connected';
  });
  source.addEventListener('gap', () => reload());
  // One event per processor commit: the window updates it wrote.
  source.addEventListener('windows', (event) => {
    for (const update of JSON.parse(event.data)) {
      const id = rowId(update);
      if (update.removed) state.rows.delete(id);
      else state.rows.set(id, { ...update, updatedAt: Date.now() });
      state.updates += 1;
    }
    $('live-updates').textContent = String(state.updates);
    queueRender();
  });
  source.onerror = () => {
    // EventSource reconnects by itself and sends Last-Event-ID: nothing is missed.
    live.dataset.state = 'error';
    live.textContent = 'live: reconnecting';
  };
}

function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  setTimeout(() => {
    state.renderQueued = false;
    render();
  }, 250);
}

function render() {
  const { agg } = params();
  const rows = [...state.rows.values()];
  renderChart(rows, agg);
  renderTable(rows, agg);
}

function renderChart(rows, agg) {
  const starts = [...new Set(rows.map((r) => Date.parse(r.window_start) / 1000))].sort((a, b) => a - b);
  const keys = [...new Set(rows.map((r) => r.key ?? '(all)'))].sort();
  const index = new Map(starts.map((t, i) => [t, i]));
  const series = keys.map(() => starts.map(() => null));
  const provisional = new Set();
  for (const r of rows) {
    const t = Date.parse(r.window_start) / 1000;
    const i = index.get(t);
    series[keys.indexOf(r.key ?? '(all)')][i] = r.values[agg] ?? null;
    if (r.status === 'provisional') provisional.add(i);
  }
  const width = Math.max(320, $('chart').clientWidth || 900);
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
  state.chart?.destroy();
  $('chart-title').textContent = `${agg} by key`;
  $('chart').dataset.points = String(rows.length);
  $('chart').dataset.provisional = String(provisional.size);
  state.chart = new uPlot(
    {
      width,
      height: 320,
      scales: { x: { time: true } },
      series: [
        {},
        ...keys.map((k, i) => ({ label: k, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true })),
      ],
      hooks: { drawClear: [shade] },
    },
    [starts, ...series],
    $('chart'),
  );
}

function renderTable(rows, agg) {
  $('agg-head').textContent = agg;
  const latest = rows
    .sort((a, b) =>
      a.window_start === b.window_start
        ? (a.key ?? '').localeCompare(b.key ?? '')
        : a.window_start < b.window_start
          ? 1
          : -1,
    )
    .slice(0, TABLE_ROWS);
  const now = Date.now();
  $('windows').tBodies[0].replaceChildren(
    ...latest.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.status = r.status;
      if (r.updatedAt !== undefined && now - r.updatedAt < 1500) tr.className = 'updated';
      const cell = (text, cls) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        return td;
      };
      const status = cell('');
      const badge = document.createElement('span');
      badge.className = `status status-${r.status}`;
      badge.textContent = r.status;
      status.append(badge);
      const trace = cell('');
      if (r.trace_id) {
        const a = document.createElement('a');
        a.href = `${jaegerUi}/trace/${r.trace_id}`;
        a.textContent = r.trace_id.slice(0, 8);
        a.target = '_blank';
        a.rel = 'noopener';
        trace.append(a);
      }
      const value = r.values[agg];
      tr.append(
        cell(new Date(r.window_start).toLocaleString()),
        cell(r.key ?? '(all)'),
        cell(value === null || value === undefined ? '-' : String(value), 'num'),
        status,
        cell(String(r.version), 'num'),
        trace,
      );
      return tr;
    }),
  );
}

async function main() {
  const { data } = await getJson('/v1/streams');
  state.streams = data;
  const wanted = new URLSearchParams(location.search).get('stream');
  fillSelect(
    $('stream'),
    data.map((s) => s.name),
    wanted ?? data[0]?.name,
  );
  $('stream').addEventListener('change', onStreamChange);
  $('window').addEventListener('change', reload);
  $('range').addEventListener('change', reload);
  $('agg').addEventListener('change', render);
  onStreamChange();
  // The range is relative to now: read it again now and then so it moves on.
  setInterval(reload, 60_000);
}

main().catch((error) => {
  $('live').dataset.state = 'error';
  $('live').textContent = `error: ${error.message}`;
});
