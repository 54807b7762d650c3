// The sluice dashboard (browser code, ES modules, no build step): per stream, a health row (the
// tenant's rate and data quality; for a key that also holds admin, the stream's rates, lags, late
// and DLQ counts of all tenants), a chart of one
// aggregate by key over the chosen range (provisional windows shaded), bars of the latest settled
// window by key, a table of the latest windows with links to their traces in Jaeger, all updated
// live over Server-Sent Events without a reload. It reads only the public API: /v1/streams,
// /v1/streams/{stream}/health, /v1/streams/{stream}/windows and /v1/streams/{stream}/live.
//
// Auth (issue 21): when the API answers 401 the page asks for a read key, keeps it in this tab's
// sessionStorage only (never localStorage, a cookie or a URL: it leaves with the tab and is in no
// history, log or Referer) and sends it as `Authorization: Bearer` on every call. A 401 later (a
// revoked or expired key) forgets it and asks again. The live updates are read with fetch(), not
// EventSource, which cannot send a header: the key would have to go in the URL. The reader below
// parses the same text/event-stream and reconnects with Last-Event-ID as EventSource does.

import { drawBars, drawLineChart } from './dashboard-charts.js';
import { formatNumber, formatTime, unitOf } from './dashboard-format.js';
import { showHealth } from './dashboard-health.js';

const $ = (id) => document.getElementById(id);
const jaegerUi = document.body.dataset.jaegerUi || 'http://127.0.0.1:16686';
const TABLE_ROWS = 30;

const state = {
  streams: [],
  /** window_start|key -> row, for the stream, window and range shown */
  rows: new Map(),
  source: undefined,
  chart: undefined,
  renderQueued: false,
  updates: 0,
  healthUpdates: 0,
};

const params = () => ({
  stream: $('stream').value,
  window: $('window').value,
  agg: $('agg').value,
  range: $('range').value,
});
/** Whether the stream shown declares data-quality rules (its windows then have a score). */
const hasRules = () =>
  state.streams.find((s) => s.name === params().stream)?.aggregations.some((a) => a.fn === 'quality') ??
  false;
const rowId = (r) => `${r.window_start}|${r.key}`;

const KEY_ITEM = 'sluice.readKey';
const KEY_SHAPE = /^slk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/;

/** The API refused the key (401) or its scope (403): the form asks for another. */
class KeyRefused extends Error {
  constructor(status) {
    super(
      status === 403
        ? 'this key may not read windows (it needs the windows:read scope)'
        : 'a valid read key is needed',
    );
    this.status = status;
  }
}

/** Headers of every API call: the session's key, when there is one (none with auth off). */
function withKey(headers = {}) {
  const key = sessionStorage.getItem(KEY_ITEM);
  return key === null ? headers : { ...headers, authorization: `Bearer ${key}` };
}

async function getJson(url) {
  const response = await fetch(url, { headers: withKey() });
  if (response.status === 401 || response.status === 403) throw new KeyRefused(response.status);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

/** Shows the key form (the data hidden, live updates stopped), with why. */
function askForKey(message) {
  state.source?.close();
  state.source = undefined;
  sessionStorage.removeItem(KEY_ITEM);
  $('data').hidden = true;
  $('forget-key').hidden = true;
  $('key-form').hidden = false;
  $('key-message').textContent = message;
  $('key-input').value = '';
  $('key-input').focus();
}

/** Any failure of a load: a refused key brings the form back, anything else shows in the header. */
function failed(error) {
  if (error instanceof KeyRefused) {
    askForKey(sessionStorage.getItem(KEY_ITEM) === null ? '' : error.message);
    return;
  }
  $('live').dataset.state = 'error';
  $('live').textContent = `error: ${error.message}`;
}

/**
 * Reads a text/event-stream with fetch (so the key goes in a header, never in the URL), as
 * EventSource would: events dispatched on a blank line, `id` kept as the last event id and sent
 * back as Last-Event-ID on reconnect, `retry` obeyed, comments ignored. 401/403 end it (onRefused);
 * any other failure reconnects after the retry delay.
 */
function liveReader(url, handlers) {
  const abort = new AbortController();
  let closed = false;
  let lastEventId = '';
  let retryMs = 1_000;
  const dispatchFrom = (lines) => {
    let type = 'message';
    const data = [];
    let hasData = false;
    for (const line of lines) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') {
        data.push(value);
        hasData = true;
      } else if (field === 'id' && !value.includes('\0')) lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (hasData) handlers.onEvent({ type, data: data.join('\n'), lastEventId });
  };
  const read = async (body) => {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let event = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // A line ends at CRLF, LF or CR; a CR last in the buffer may be half of a CRLF.
      const lines = buffer.split(/\r\n|\n|\r(?!$)/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          dispatchFrom(event);
          event = [];
        } else event.push(line);
      }
    }
  };
  (async () => {
    while (!closed) {
      try {
        const headers = withKey({ accept: 'text/event-stream' });
        if (lastEventId !== '') headers['last-event-id'] = lastEventId;
        const response = await fetch(url, { headers, signal: abort.signal, cache: 'no-store' });
        if (response.status === 401 || response.status === 403) {
          handlers.onRefused(new KeyRefused(response.status));
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`live: ${response.status}`);
        handlers.onOpen();
        await read(response.body);
      } catch {
        // The connection failed or ended: reconnect below, unless closed.
      }
      if (closed) return;
      handlers.onError();
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();
  return {
    close() {
      closed = true;
      abort.abort();
    },
  };
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
function reload() {
  return load().catch(failed);
}

async function load() {
  const { stream } = params();
  // Together, so that a refusal of either is handled once (no rejection left unawaited).
  const [health] = await Promise.all([
    getJson(`/v1/streams/${encodeURIComponent(stream)}/health`),
    readWindows(),
  ]);
  showHealth(health, hasRules());
  render();
  listen();
}

/** Every page of the chosen window and range into state.rows. */
async function readWindows() {
  const { stream, window, range } = params();
  state.rows.clear();
  let cursor = null;
  do {
    const q = new URLSearchParams({ window, from: range, limit: '5000' });
    if (cursor !== null) q.set('cursor', cursor);
    const page = await getJson(`/v1/streams/${encodeURIComponent(stream)}/windows?${q}`);
    for (const row of page.data) state.rows.set(rowId(row), row);
    $('watermark').textContent = page.watermark === null ? '-' : formatTime(Date.parse(page.watermark));
    $('watermark').title = page.watermark ?? '';
    cursor = page.next_cursor;
  } while (cursor !== null);
}

function listen() {
  const { stream, window } = params();
  state.source?.close();
  const live = $('live');
  // One `windows` event per processor commit: the window updates it wrote.
  const onWindows = (data) => {
    for (const update of JSON.parse(data)) {
      const id = rowId(update);
      if (update.removed) state.rows.delete(id);
      else state.rows.set(id, { ...update, updatedAt: Date.now() });
      state.updates += 1;
    }
    $('live-updates').textContent = String(state.updates);
    queueRender();
  };
  state.source = liveReader(
    `/v1/streams/${encodeURIComponent(stream)}/live?window=${encodeURIComponent(window)}&health=on`,
    {
      onOpen: () => {},
      onEvent: (event) => {
        if (event.type === 'ready') {
          live.dataset.state = 'open';
          live.textContent = 'live: connected';
        } else if (event.type === 'gap') reload();
        else if (event.type === 'windows') onWindows(event.data);
        else if (event.type === 'health') {
          showHealth(JSON.parse(event.data), hasRules());
          state.healthUpdates += 1;
          $('health').dataset.updates = String(state.healthUpdates);
        }
      },
      onError: () => {
        // It reconnects by itself and sends Last-Event-ID: nothing is missed.
        live.dataset.state = 'error';
        live.textContent = 'live: reconnecting';
      },
      onRefused: failed,
    },
  );
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
  const stream = state.streams.find((s) => s.name === params().stream);
  const unit = unitOf(stream, agg);
  const rows = [...state.rows.values()];
  $('chart-title').textContent = `${agg} by key`;
  $('chart-unit').textContent = unit.unit === '' ? '' : `(${unit.unit})`;
  $('bars-title').textContent = `${agg} by key, latest settled window`;
  state.chart = drawLineChart($('chart'), state.chart, rows, agg, unit);
  const max = $('chart').dataset.max;
  $('chart-peak').textContent = max === '' ? '' : `· peak ${formatNumber(Number(max), unit.kind)}`;
  drawBars($('bars'), $('bars-caption'), rows, agg, unit);
  renderTable(rows, agg, unit);
}

function renderTable(rows, agg, unit) {
  $('agg-head').textContent = agg;
  $('table-agg').textContent = `· ${agg}`;
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
      const time = (iso) => {
        const td = document.createElement('td');
        const t = document.createElement('time');
        t.dateTime = iso;
        t.textContent = formatTime(Date.parse(iso));
        t.title = new Date(iso).toLocaleString();
        td.append(t);
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
      // Compact to read at a glance; the exact figure on hover.
      const figure = cell(formatNumber(value, unit.kind), 'num');
      figure.title = value === null || value === undefined ? '' : String(value);
      tr.append(
        time(r.window_start),
        cell(r.key ?? '(all)', 'key'),
        figure,
        status,
        cell(String(r.version), 'num version'),
        trace,
      );
      return tr;
    }),
  );
}

let started = false;

/** Loads the streams and starts the page; a 401 here (auth on, no key yet) shows the key form. */
async function start() {
  const { data } = await getJson('/v1/streams');
  state.streams = data;
  $('key-form').hidden = true;
  $('data').hidden = false;
  $('forget-key').hidden = sessionStorage.getItem(KEY_ITEM) === null;
  const wanted = new URLSearchParams(location.search).get('stream');
  fillSelect(
    $('stream'),
    data.map((s) => s.name),
    wanted ?? data[0]?.name,
  );
  if (!started) {
    started = true;
    $('stream').addEventListener('change', onStreamChange);
    $('window').addEventListener('change', reload);
    $('range').addEventListener('change', reload);
    $('agg').addEventListener('change', render);
    // The charts take the width they are given: drawn again when it changes (a phone turned).
    let width = window.innerWidth;
    window.addEventListener('resize', () => {
      if (window.innerWidth === width) return;
      width = window.innerWidth;
      queueRender();
    });
    // The range is relative to now: read it again now and then so it moves on.
    setInterval(() => {
      if ($('key-form').hidden) reload();
    }, 60_000);
  }
  onStreamChange();
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key-input').value.trim();
  $('key-input').value = '';
  if (!KEY_SHAPE.test(key)) {
    $('key-message').textContent = 'that is not a sluice key (slk_...)';
    return;
  }
  sessionStorage.setItem(KEY_ITEM, key);
  $('key-message').textContent = '';
  start().catch(failed);
});
$('forget-key').addEventListener('click', () => askForKey(''));

start().catch(failed);
