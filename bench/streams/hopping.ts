// Hopping 5-minute windows every minute by category, with ecommerce's declared aggregations.
import { hopping } from '@sluice/shared/streams/define';
import { ecommerce } from '@sluice/shared/streams/ecommerce';
import { ecommerceWith } from './variants.ts';

export const STREAMS = [
  ecommerceWith({ windows: [hopping('5m', '1m')], aggregations: ecommerce.aggregations }),
];
