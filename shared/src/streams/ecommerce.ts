// The seed pipeline: e-commerce transactions in 1-minute tumbling windows by category, with a
// 1-minute watermark (Spark's withWatermark("timestamp", "1 minute")).

import { z } from 'zod';
import { avg, count, defineStream, distinct, max, min, quantiles, sum, tumbling } from './define.ts';
import { eventTimeField, idField } from './fields.ts';
import { makeTransaction } from './samples/ecommerce.ts';

export const ecommerceTransaction = z.object({
  transaction_id: idField,
  user_id: idField,
  /** Free text, not an enum: a new category must not be a schema change. */
  product_category: z.string().min(1).max(128),
  product_name: z.string().min(1).max(512),
  amount: z.number().finite().nonnegative().max(1e12),
  timestamp: eventTimeField,
  payment_method: z.string().min(1).max(64),
});

export type EcommerceTransaction = z.output<typeof ecommerceTransaction>;

export const ecommerce = defineStream({
  name: 'ecommerce',
  description: 'E-commerce transactions: sales per product category per minute',
  partitions: 6,
  schema: ecommerceTransaction,
  eventTime: 'timestamp',
  // The seed's own producer writes `2025-11-29 20:04:32`: local time without a zone, in UTC.
  timeFormats: ['rfc3339', 'epoch_ms', 'naive'],
  naiveTimeZone: 'UTC',
  idField: 'transaction_id',
  keyBy: ['product_category'],
  windows: [tumbling('1m')],
  aggregations: [
    count('count'),
    sum('amount', { scale: 2 }),
    min('amount'),
    max('amount'),
    avg('amount', { scale: 2 }),
    // Approximate, mergeable: p50/p95/p99 of amount (DDSketch, 1%) and distinct users (HyperLogLog).
    quantiles('amount', { scale: 2 }),
    distinct('user_id', 'distinct_users'),
  ],
  watermark: '1m',
  // Late events within 5 minutes of the watermark amend their window (Flink's allowed lateness);
  // older ones go to ecommerce.late and can be replayed with `./sluice replay late`.
  allowedLateness: '5m',
  // The seed's data model (six categories, three payment methods), as `./sluice gen` sends it.
  sample: (random, now, index) => makeTransaction(random, `sample-${index}`, now),
});
