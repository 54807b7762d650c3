// Aggregation state as mergeable accumulators, and the values a window row shows. Sums of a field
// with a declared scale are kept in integer units (cents for scale 2), so totals are exact and do
// not depend on the order events arrive in; min and max keep the raw value.

import type { AggSpec } from './define.ts';

/** Accumulators by name: `<agg>` for count/sum/min/max, `<agg>:sum` and `<agg>:n` for avg. */
export type AggState = Record<string, number | null>;

export function emptyState(aggs: readonly AggSpec[]): AggState {
  const state: AggState = {};
  for (const agg of aggs) {
    if (agg.fn === 'avg') {
      state[`${agg.name}:sum`] = 0;
      state[`${agg.name}:n`] = 0;
    } else {
      state[agg.name] = agg.fn === 'count' || agg.fn === 'sum' ? 0 : null;
    }
  }
  return state;
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
      state[agg.name] = (state[agg.name] ?? 0) + 1;
      continue;
    }
    const value = numberField(data, agg.field);
    if (value === undefined) continue;
    switch (agg.fn) {
      case 'sum':
        state[agg.name] = (state[agg.name] ?? 0) + units(value, agg.scale);
        break;
      case 'min': {
        const current = state[agg.name];
        state[agg.name] = current === null || current === undefined ? value : Math.min(current, value);
        break;
      }
      case 'max': {
        const current = state[agg.name];
        state[agg.name] = current === null || current === undefined ? value : Math.max(current, value);
        break;
      }
      case 'avg':
        state[`${agg.name}:sum`] = (state[`${agg.name}:sum`] ?? 0) + units(value, agg.scale);
        state[`${agg.name}:n`] = (state[`${agg.name}:n`] ?? 0) + 1;
        break;
    }
  }
}

/** Merges `other` into `state` in place (the same accumulators from another window or worker). */
export function merge(state: AggState, other: AggState, aggs: readonly AggSpec[]): void {
  for (const agg of aggs) {
    switch (agg.fn) {
      case 'count':
      case 'sum':
        state[agg.name] = (state[agg.name] ?? 0) + (other[agg.name] ?? 0);
        break;
      case 'min':
      case 'max': {
        const a = state[agg.name] ?? null;
        const b = other[agg.name] ?? null;
        state[agg.name] =
          a === null ? b : b === null ? a : agg.fn === 'min' ? Math.min(a, b) : Math.max(a, b);
        break;
      }
      case 'avg':
        state[`${agg.name}:sum`] = (state[`${agg.name}:sum`] ?? 0) + (other[`${agg.name}:sum`] ?? 0);
        state[`${agg.name}:n`] = (state[`${agg.name}:n`] ?? 0) + (other[`${agg.name}:n`] ?? 0);
        break;
    }
  }
}

/**
 * The values a window row and the API show. A scaled sum is `units / 10^scale`; an average is
 * `(sum in units / n) / 10^scale`, null when no event had the field.
 */
export function valuesOf(state: AggState, aggs: readonly AggSpec[]): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  for (const agg of aggs) {
    const divisor = agg.scale === undefined ? 1 : 10 ** agg.scale;
    switch (agg.fn) {
      case 'count':
        values[agg.name] = state[agg.name] ?? 0;
        break;
      case 'sum':
        values[agg.name] = (state[agg.name] ?? 0) / divisor;
        break;
      case 'min':
      case 'max':
        values[agg.name] = state[agg.name] ?? null;
        break;
      case 'avg': {
        const n = state[`${agg.name}:n`] ?? 0;
        values[agg.name] = n === 0 ? null : (state[`${agg.name}:sum`] ?? 0) / n / divisor;
        break;
      }
    }
  }
  return values;
}
