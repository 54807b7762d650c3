// Aggregation state as mergeable accumulators, and the values a window row shows. Sums of a field
// with a declared scale are kept in integer units (cents for scale 2), so totals are exact and do
// not depend on the order events arrive in; min and max keep the raw value. Distinct counts and
// quantiles are sketches (sketches.ts): approximate, but mergeable and order-independent too.

import type { AggSpec } from './define.ts';
import { valueNames } from './define.ts';
import type { Sketch } from './sketches.ts';
import { DistinctSketch, QuantileSketch, reviveSketch } from './sketches.ts';

/**
 * Accumulators by name: `<agg>` for count/sum/min/max and the sketches, `<agg>:sum` and `<agg>:n`
 * for avg. Sketches serialise to tagged strings (their toJSON), so a state is JSON as it stands.
 */
export type AggState = Record<string, number | null | Sketch>;

/** A state as stored (jsonb): sketches as their tagged strings. */
export type StoredAggState = Record<string, number | null | string>;

export function emptyState(aggs: readonly AggSpec[]): AggState {
  const state: AggState = {};
  for (const agg of aggs) {
    switch (agg.fn) {
      case 'avg':
        state[`${agg.name}:sum`] = 0;
        state[`${agg.name}:n`] = 0;
        break;
      case 'distinct':
        state[agg.name] = new DistinctSketch();
        break;
      case 'quantiles':
        state[agg.name] = new QuantileSketch();
        break;
      case 'quality':
        state[`${agg.name}:passed`] = 0;
        for (const r of agg.rules ?? []) state[`${agg.name}:rejected:${r}`] = 0;
        break;
      default:
        state[agg.name] = agg.fn === 'count' || agg.fn === 'sum' ? 0 : null;
    }
  }
  return state;
}

/** The accumulator names of one aggregation in a state (emptyState's keys for it), kept per spec. */
const accumulators = new WeakMap<AggSpec, readonly string[]>();
function accumulatorNames(agg: AggSpec): readonly string[] {
  let names = accumulators.get(agg);
  if (names === undefined) {
    if (agg.fn === 'avg') names = [`${agg.name}:sum`, `${agg.name}:n`];
    else if (agg.fn === 'quality')
      names = [`${agg.name}:passed`, ...(agg.rules ?? []).map((r) => `${agg.name}:rejected:${r}`)];
    else names = [agg.name];
    accumulators.set(agg, names);
  }
  return names;
}

/**
 * A state read back from a row: its sketches as objects again. `only`: the aggregations a reader
 * will merge; just their accumulators are read, and the sketches of others (the costly part of
 * reviving) stay out. A roll-up revives one state per source row, so no set or entry list is made
 * per row (issue 27: a 5-minute roll-up of an hour's 360 rows spent a tenth of its miss here).
 */
export function reviveState(stored: StoredAggState, only?: readonly AggSpec[]): AggState {
  const state: AggState = {};
  if (only === undefined) {
    for (const [name, value] of Object.entries(stored)) revive(state, name, value);
    return state;
  }
  for (const agg of only)
    for (const name of accumulatorNames(agg))
      if (Object.hasOwn(stored, name)) revive(state, name, stored[name]);
  return state;
}

function revive(state: AggState, name: string, value: number | null | string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string') state[name] = value;
  else {
    const sketch = reviveSketch(value);
    if (sketch !== undefined) state[name] = sketch;
  }
}

/** A state as a row stores it: sketches as their tagged strings (a stored state stays as it is). */
export function storeState(state: AggState | StoredAggState): StoredAggState {
  const stored: StoredAggState = {};
  for (const [name, value] of Object.entries(state))
    stored[name] = typeof value === 'object' && value !== null ? value.toJSON() : value;
  return stored;
}

/** A copy that shares nothing mutable with `state` (planning works on copies). */
export function copyState(state: AggState): AggState {
  const copy: AggState = {};
  for (const [name, value] of Object.entries(state))
    copy[name] = typeof value === 'object' && value !== null ? value.clone() : value;
  return copy;
}

function numeric(value: number | null | Sketch | undefined): number {
  return typeof value === 'number' ? value : 0;
}

function orNull(value: number | null | Sketch | undefined): number | null {
  return typeof value === 'number' ? value : null;
}

function distinctOf(state: AggState, name: string): DistinctSketch {
  const current = state[name];
  if (current instanceof DistinctSketch) return current;
  const fresh = new DistinctSketch();
  state[name] = fresh;
  return fresh;
}

function quantilesOf(state: AggState, name: string): QuantileSketch {
  const current = state[name];
  if (current instanceof QuantileSketch) return current;
  const fresh = new QuantileSketch();
  state[name] = fresh;
  return fresh;
}

function roundTo(value: number, scale: number | undefined): number {
  if (scale === undefined) return value;
  const factor = 10 ** scale;
  return Math.round(value * factor) / factor;
}

function units(value: number, scale: number | undefined): number {
  return scale === undefined ? value : Math.round(value * 10 ** scale);
}

function numberField(data: Record<string, unknown>, field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const value = data[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Adds one event to `state` in place. */
export function accumulate(state: AggState, aggs: readonly AggSpec[], data: Record<string, unknown>): void {
  for (const agg of aggs) {
    if (agg.fn === 'count') {
      state[agg.name] = numeric(state[agg.name]) + 1;
      continue;
    }
    if (agg.fn === 'quality') {
      state[`${agg.name}:passed`] = numeric(state[`${agg.name}:passed`]) + 1;
      continue;
    }
    if (agg.fn === 'distinct') {
      const raw = agg.field === undefined ? undefined : data[agg.field];
      // Distinct over scalar values: "42" and 42 are one value, as in SQL's count(distinct ::text).
      if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean')
        distinctOf(state, agg.name).add(String(raw));
      continue;
    }
    const value = numberField(data, agg.field);
    if (value === undefined) continue;
    switch (agg.fn) {
      case 'sum':
        state[agg.name] = numeric(state[agg.name]) + units(value, agg.scale);
        break;
      case 'min': {
        const current = orNull(state[agg.name]);
        state[agg.name] = current === null ? value : Math.min(current, value);
        break;
      }
      case 'max': {
        const current = orNull(state[agg.name]);
        state[agg.name] = current === null ? value : Math.max(current, value);
        break;
      }
      case 'avg':
        state[`${agg.name}:sum`] = numeric(state[`${agg.name}:sum`]) + units(value, agg.scale);
        state[`${agg.name}:n`] = numeric(state[`${agg.name}:n`]) + 1;
        break;
      case 'quantiles':
        quantilesOf(state, agg.name).add(value);
        break;
    }
  }
}

/**
 * Counts one event that broke `rule` in `state` in place: only the data-quality accumulators move;
 * the event is not aggregated.
 */
export function reject(state: AggState, aggs: readonly AggSpec[], rule: string): void {
  for (const agg of aggs) {
    if (agg.fn !== 'quality') continue;
    const name = `${agg.name}:rejected:${rule}`;
    state[name] = numeric(state[name]) + 1;
  }
}

/** Merges `other` into `state` in place (the same accumulators from another window or worker). */
export function merge(state: AggState, other: AggState, aggs: readonly AggSpec[]): void {
  for (const agg of aggs) {
    switch (agg.fn) {
      case 'count':
      case 'sum':
        state[agg.name] = numeric(state[agg.name]) + numeric(other[agg.name]);
        break;
      case 'min':
      case 'max': {
        const a = orNull(state[agg.name]);
        const b = orNull(other[agg.name]);
        state[agg.name] =
          a === null ? b : b === null ? a : agg.fn === 'min' ? Math.min(a, b) : Math.max(a, b);
        break;
      }
      case 'avg':
        state[`${agg.name}:sum`] = numeric(state[`${agg.name}:sum`]) + numeric(other[`${agg.name}:sum`]);
        state[`${agg.name}:n`] = numeric(state[`${agg.name}:n`]) + numeric(other[`${agg.name}:n`]);
        break;
      case 'distinct': {
        const theirs = other[agg.name];
        if (theirs instanceof DistinctSketch) distinctOf(state, agg.name).merge(theirs);
        break;
      }
      case 'quantiles': {
        const theirs = other[agg.name];
        if (theirs instanceof QuantileSketch) quantilesOf(state, agg.name).merge(theirs);
        break;
      }
      case 'quality':
        for (const name of [
          `${agg.name}:passed`,
          ...(agg.rules ?? []).map((r) => `${agg.name}:rejected:${r}`),
        ])
          state[name] = numeric(state[name]) + numeric(other[name]);
        break;
    }
  }
}

/**
 * The values a window row and the API show. A scaled sum is `units / 10^scale`; an average is
 * `(sum in units / n) / 10^scale`, null when no event had the field; a distinct count is the
 * HyperLogLog estimate; a percentile `p<N>_<field>` is DDSketch's value at N/100, rounded to the
 * field's scale, null when no event had the field; `quality_score` is the share of a window's
 * events that passed the stream's rules (null for none), beside `rejected` and `rejected_<rule>`.
 */
export function valuesOf(state: AggState, aggs: readonly AggSpec[]): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  for (const agg of aggs) {
    const divisor = agg.scale === undefined ? 1 : 10 ** agg.scale;
    switch (agg.fn) {
      case 'count':
        values[agg.name] = numeric(state[agg.name]);
        break;
      case 'sum':
        values[agg.name] = numeric(state[agg.name]) / divisor;
        break;
      case 'min':
      case 'max':
        values[agg.name] = orNull(state[agg.name]);
        break;
      case 'avg': {
        const n = numeric(state[`${agg.name}:n`]);
        values[agg.name] = n === 0 ? null : numeric(state[`${agg.name}:sum`]) / n / divisor;
        break;
      }
      case 'distinct': {
        const sketch = state[agg.name];
        values[agg.name] = sketch instanceof DistinctSketch ? sketch.estimate() : 0;
        break;
      }
      case 'quality': {
        const passed = numeric(state[`${agg.name}:passed`]);
        let rejected = 0;
        for (const r of agg.rules ?? []) {
          const n = numeric(state[`${agg.name}:rejected:${r}`]);
          values[`rejected_${r}`] = n;
          rejected += n;
        }
        values.rejected = rejected;
        values.quality_score = passed + rejected === 0 ? null : passed / (passed + rejected);
        break;
      }
      case 'quantiles': {
        const sketch = state[agg.name];
        const names = valueNames(agg);
        (agg.percentiles ?? []).forEach((p, i) => {
          const name = names[i];
          if (name === undefined) return;
          const q = sketch instanceof QuantileSketch ? sketch.quantile(p / 100) : null;
          values[name] = q === null ? null : roundTo(q, agg.scale);
        });
        break;
      }
    }
  }
  return values;
}
