// For unit tests of the edge's app that do not exercise POST /v1/webhooks/{id}: no source exists,
// and relaying (never reached) fails loudly.

import { ok } from '@sluice/shared/result';
import type { WebhookDeps } from '../src/webhooks-route.ts';

export const NO_WEBHOOKS: WebhookDeps = {
  sources: { get: async () => ok(undefined), size: 0 },
  relay: () => Promise.reject(new Error('no webhook is relayed in this test')),
  refusals: { inc: () => {} },
};
