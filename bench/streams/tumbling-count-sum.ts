// Tumbling 1-minute windows by category, count and sum only (the 75,000 events/s/core target).
import { tumbling } from '@sluice/shared/streams/define';
import { COUNT_SUM, ecommerceWith } from './variants.ts';

export const STREAMS = [ecommerceWith({ windows: [tumbling('1m')], aggregations: COUNT_SUM })];
