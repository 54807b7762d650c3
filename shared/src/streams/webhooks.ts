// The built-in `webhooks` stream (issue 22, ../shared/DESIGN.md): every verified delivery of a
// webhook source that names no other stream, counted per provider, type and account in 1-minute
// and 1-hour windows. The event time is when sluice first received the delivery (a redelivery
// keeps it, so it is a duplicate of the first in the same window); the payload rides along.

import { z } from 'zod';
import { PROVIDERS } from '../webhooks/source.ts';
import { count, defineStream, tumbling } from './define.ts';

export const webhookDelivery = z.object({
  provider: z.enum(PROVIDERS),
  type: z.string().max(256),
  account: z.string().max(256),
  delivery_id: z.string().min(1).max(128),
  payload: z.unknown(),
});

export const webhooks = defineStream({
  name: 'webhooks',
  description: 'Signed webhook deliveries per provider, type and account',
  partitions: 3,
  schema: webhookDelivery,
  keyBy: ['provider', 'type', 'account'],
  windows: [tumbling('1m'), tumbling('1h')],
  aggregations: [count('deliveries')],
  // Counted deliveries are verified ones: POST /v1/events may not write here.
  signedOnly: true,
  // Receive times are nearly ordered; a delivery is late only when it waited on a slow edge.
  watermark: '10s',
  allowedLateness: '1h',
});
