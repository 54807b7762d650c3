// The ecommerce stream with other windows and aggregations, for `./sluice bench processor`: the
// same payload and topic name, so one filled topic serves several runs. Each file beside this one
// exports one variant as STREAMS, loaded by the processor through SLUICE_STREAMS_MODULE.

import type { AggSpec, WindowSpec } from '@sluice/shared/streams/define';
import { count, defineStream, sum } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';

/** Count and sum by key: the shape of Nexmark's comparable windowed aggregation query. */
export const COUNT_SUM: readonly AggSpec[] = [count('count'), sum('amount', { scale: 2 })];

export function ecommerceWith(options: {
  readonly windows: readonly WindowSpec[];
  readonly aggregations: readonly AggSpec[];
  readonly keyBy?: 'product_category' | 'user_id';
}) {
  return defineStream({
    name: 'ecommerce',
    description: `ecommerce for benchmarks: ${options.windows.map((w) => w.name).join(', ')}`,
    partitions: ecommerce.partitions,
    schema: ecommerce.schema,
    eventTime: 'timestamp',
    idField: 'transaction_id',
    keyBy: [options.keyBy ?? 'product_category'],
    windows: options.windows,
    aggregations: options.aggregations,
    watermark: '1m',
    allowedLateness: '5m',
  });
}
