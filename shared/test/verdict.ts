// One intake verdict in-process, for the unit tests of event-time and text checks: an ecommerce
// event with fields overridden, judged by validateItem at a fixed receive time.

import { validateItem } from '@sluice/shared/events/validate';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { STREAMS, streamRegistry } from '@sluice/shared/streams/registry';

/** The receive time of every verdict here. */
export const NOW = Date.parse('2026-12-04T10:00:00Z');

/** An ecommerce event a minute before NOW, with `data` fields and envelope fields overridden. */
export function ecommerceEvent(data: Record<string, unknown>, envelope: Record<string, unknown> = {}) {
  return {
    stream: 'ecommerce',
    ...envelope,
    data: {
      transaction_id: 't-1',
      user_id: 'u-1',
      product_category: 'Books',
      product_name: 'Atlas',
      amount: 25.5,
      timestamp: '2026-12-04T09:59:00Z',
      payment_method: 'paypal',
      ...data,
    },
  };
}

export function verdictOf(value: unknown, streams: readonly StreamDefinition[] = STREAMS) {
  return validateItem(
    { index: 0, value, bytes: JSON.stringify(value).length },
    {
      registry: streamRegistry(streams),
      now: NOW,
      maxEventBytes: 1 << 20,
      maxDepth: 32,
      newId: () => 'generated',
    },
  );
}
