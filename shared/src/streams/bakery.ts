// The bakery streams (the seed's late-arrival scenario): sales from the tills, readings from the
// ovens and proofers, and stock movements, each on its own topic of 3 partitions. Tills upload
// in batches when they reconnect, so sales may arrive up to 48 h late and amend their windows.
// Business rules score each window's data quality; rule breakers are counted, not aggregated.

import { z } from 'zod';
import {
  avg,
  count,
  defineStream,
  distinct,
  hopping,
  max,
  min,
  quantiles,
  rule,
  session,
  sum,
  tumbling,
} from './define.ts';
import { eventTimeField as eventTime, idField as id } from './fields.ts';
import { makeReading, makeSale, makeUpdate } from './samples/bakery.ts';

// Quantities and prices are plain numbers here: a negative quantity is a data-quality finding for
// the window (rule `non_negative_quantity`), not a malformed request.
export const bakerySale = z.object({
  sale_id: id,
  store_id: id,
  product: z.string().min(1).max(128),
  quantity: z.number().int().min(-1_000_000).max(1_000_000),
  unit_price: z.number().finite().min(-1_000_000).max(1_000_000),
  total: z.number().finite().min(-1e12).max(1e12),
  channel: z.string().min(1).max(32),
  timestamp: eventTime,
});

export const equipmentReading = z.object({
  reading_id: id,
  equipment_id: id,
  metric: z.string().min(1).max(64),
  value: z.number().finite(),
  timestamp: eventTime,
});

export const inventoryUpdate = z.object({
  update_id: id,
  store_id: id,
  product: z.string().min(1).max(128),
  change: z.number().int(),
  stock_after: z.number().int(),
  reason: z.string().min(1).max(32),
  timestamp: eventTime,
});

export type BakerySale = z.output<typeof bakerySale>;
export type EquipmentReading = z.output<typeof equipmentReading>;
export type InventoryUpdate = z.output<typeof inventoryUpdate>;

export const salesEvents = defineStream({
  name: 'sales-events',
  description: 'Bakery sales per store: hourly, and hourly every 15 minutes; tills may upload 48 h late',
  partitions: 3,
  schema: bakerySale,
  eventTime: 'timestamp',
  idField: 'sale_id',
  keyBy: ['store_id'],
  windows: [tumbling('1h'), hopping('1h', '15m')],
  aggregations: [
    count('sales'),
    sum('quantity', { name: 'items' }),
    sum('total', { scale: 2, name: 'revenue' }),
    avg('unit_price', { scale: 2 }),
    distinct('product', 'distinct_products'),
  ],
  watermark: '5m',
  allowedLateness: '48h',
  rules: [
    rule<BakerySale>('non_negative_quantity', (s) => s.quantity >= 0),
    rule<BakerySale>('non_negative_price', (s) => s.unit_price >= 0),
  ],
  // On-time sales that pass the rules: a load measures the pipeline, not the DLQ.
  sample: (random, now, index) => makeSale(random, `sample-${index}`, now),
});

export const equipmentMetrics = defineStream({
  name: 'equipment-metrics',
  description:
    'Oven and proofer readings per machine: per minute, and per run (a session ends after 10 quiet minutes)',
  partitions: 3,
  schema: equipmentReading,
  eventTime: 'timestamp',
  idField: 'reading_id',
  keyBy: ['equipment_id'],
  windows: [tumbling('1m'), session('10m')],
  aggregations: [count('readings'), avg('value'), min('value'), max('value'), quantiles('value')],
  watermark: '1m',
  allowedLateness: '1h',
  rules: [rule<EquipmentReading>('plausible_value', (r) => r.value >= -50 && r.value <= 400)],
  sample: (random, now, index) => makeReading(random, `sample-${index}`, now),
});

export const inventoryUpdates = defineStream({
  name: 'inventory-updates',
  description: 'Stock movements per store and product every 15 minutes',
  partitions: 3,
  schema: inventoryUpdate,
  eventTime: 'timestamp',
  idField: 'update_id',
  keyBy: ['store_id', 'product'],
  windows: [tumbling('15m')],
  aggregations: [count('updates'), sum('change', { name: 'net_change' }), min('stock_after', 'min_stock')],
  watermark: '1m',
  allowedLateness: '1h',
  rules: [rule<InventoryUpdate>('non_negative_stock', (u) => u.stock_after >= 0)],
  sample: (random, now, index) => makeUpdate(random, `sample-${index}`, now),
});
