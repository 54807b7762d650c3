// Synthetic bakery events for the three bakery streams, in the seed's late-arrival scenario: a
// share of sales comes from tills uploading hours late (amending their windows; a few beyond the
// 48 h allowed lateness, which go to sales-events.late), some events break a business rule
// (counted in their window's data-quality score) and a few are malformed (400 at intake).
// Seeded, so tests can recompute what they sent.

import { seededRandom } from './ecommerce.ts';

export { seededRandom };

const STORES = ['store-north', 'store-central', 'store-harbour'] as const;
const PRODUCTS: readonly { name: string; price: number }[] = [
  { name: 'sourdough', price: 6.5 },
  { name: 'baguette', price: 2.8 },
  { name: 'croissant', price: 2.2 },
  { name: 'pain au chocolat', price: 2.6 },
  { name: 'cinnamon bun', price: 3.4 },
  { name: 'rye loaf', price: 5.9 },
];
const CHANNELS = ['counter', 'app', 'wholesale'] as const;
/** Ovens bake in runs: each machine works for 15 minutes, then rests for 12 (offset per machine). */
const EQUIPMENT = [
  { id: 'oven-1', metric: 'temperature_c', base: 210, spread: 15 },
  { id: 'oven-2', metric: 'temperature_c', base: 190, spread: 12 },
  { id: 'proofer-1', metric: 'humidity_pct', base: 78, spread: 5 },
] as const;
const REASONS = ['delivery', 'sale', 'waste', 'count'] as const;
const HOUR = 3_600_000;

export type BakeryEnvelope =
  | { stream: 'sales-events'; data: Record<string, unknown> }
  | { stream: 'equipment-metrics'; data: Record<string, unknown> }
  | { stream: 'inventory-updates'; data: Record<string, unknown> };

export interface BakeryMix {
  /** Share of sales uploaded late, 1 to 47 hours after they happened (they amend). */
  readonly late: number;
  /** Share of sales beyond the 48 h allowed lateness (to sales-events.late). */
  readonly tooLate: number;
  /** Share of events that break a business rule (scored, counted as rejected). */
  readonly ruleBreaking: number;
  /** Share of events that are malformed (missing or mistyped fields: 400 at intake). */
  readonly malformed: number;
}

export const DEFAULT_MIX: BakeryMix = { late: 0.05, tooLate: 0.005, ruleBreaking: 0.03, malformed: 0.01 };

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function running(machine: number, now: number): boolean {
  const minute = Math.floor(now / 60_000) + machine * 9;
  return minute % 27 < 15;
}

export function makeSale(random: () => number, id: string, time: number, breakRule = false) {
  const product = pick(random, PRODUCTS);
  const quantity = breakRule ? -(1 + Math.floor(random() * 3)) : 1 + Math.floor(random() * 6);
  return {
    sale_id: id,
    store_id: pick(random, STORES),
    product: product.name,
    quantity,
    unit_price: product.price,
    total: Math.round(quantity * product.price * 100) / 100,
    channel: pick(random, CHANNELS),
    timestamp: new Date(time).toISOString(),
  };
}

export function makeReading(random: () => number, id: string, time: number, breakRule = false) {
  const running_ = EQUIPMENT.filter((_, i) => running(i, time));
  const machine = pick(random, running_.length > 0 ? running_ : EQUIPMENT);
  const value = breakRule ? 900 + random() * 100 : machine.base + (random() * 2 - 1) * machine.spread;
  return {
    reading_id: id,
    equipment_id: machine.id,
    metric: machine.metric,
    value: Math.round(value * 10) / 10,
    timestamp: new Date(time).toISOString(),
  };
}

export function makeUpdate(random: () => number, id: string, time: number, breakRule = false) {
  const reason = pick(random, REASONS);
  const change = reason === 'delivery' ? 20 + Math.floor(random() * 40) : -(1 + Math.floor(random() * 8));
  return {
    update_id: id,
    store_id: pick(random, STORES),
    product: pick(random, PRODUCTS).name,
    change,
    stock_after: breakRule ? -(1 + Math.floor(random() * 5)) : Math.floor(random() * 120),
    reason,
    timestamp: new Date(time).toISOString(),
  };
}

/** One bakery event at wall-clock time `now`: 55% sales, 35% readings, 10% stock updates. */
export function makeBakeryEvent(
  random: () => number,
  id: string,
  now: number,
  mix: BakeryMix = DEFAULT_MIX,
): BakeryEnvelope {
  const kind = random();
  const breakRule = random() < mix.ruleBreaking;
  const malformed = random() < mix.malformed;
  let envelope: BakeryEnvelope;
  if (kind < 0.55) {
    const lateness = random();
    const time =
      lateness < mix.tooLate
        ? now - (49 + random() * 24) * HOUR
        : lateness < mix.tooLate + mix.late
          ? now - (1 + random() * 46) * HOUR
          : now;
    envelope = { stream: 'sales-events', data: makeSale(random, id, Math.round(time), breakRule) };
  } else if (kind < 0.9)
    envelope = { stream: 'equipment-metrics', data: makeReading(random, id, now, breakRule) };
  else envelope = { stream: 'inventory-updates', data: makeUpdate(random, id, now, breakRule) };
  if (malformed) {
    // A till with a firmware bug: the quantity as text, or the time missing.
    const data = { ...envelope.data };
    if ('quantity' in data) data.quantity = String(data.quantity);
    else delete data.timestamp;
    envelope = { ...envelope, data };
  }
  return envelope;
}
