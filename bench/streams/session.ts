// Shopping sessions per user (30 seconds of inactivity closes one), count and sum.
import { session } from '@sluice/shared/streams/define';
import { COUNT_SUM, ecommerceWith } from './variants.ts';

export const STREAMS = [
  ecommerceWith({ windows: [session('30s')], aggregations: COUNT_SUM, keyBy: 'user_id' }),
];
