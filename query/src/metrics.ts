// The query service's own metrics, beside the HTTP ones: cache hits and misses with their ratio,
// and the live (SSE) clients connected.

import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';

export interface QueryMetrics {
  readonly cacheRequests: Counter<'result'>;
  readonly liveClients: Gauge;
}

export function createQueryMetrics(registry: Registry): QueryMetrics {
  const cacheRequests = new Counter({
    name: 'sluice_query_cache_requests_total',
    help: 'Cached-route answers served from the cache (hit: in process or Redis) or computed from PostgreSQL (miss)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'sluice_query_cache_hit_ratio',
    help: 'Hits over all cached-route requests since start (0 before the first)',
    registers: [registry],
    async collect() {
      const values = (await cacheRequests.get()).values;
      const of = (result: string) => values.find((v) => v.labels.result === result)?.value ?? 0;
      const total = of('hit') + of('miss');
      this.set(total === 0 ? 0 : of('hit') / total);
    },
  });
  return {
    cacheRequests,
    liveClients: new Gauge({
      name: 'sluice_query_live_clients',
      help: 'Server-Sent Events clients connected to /v1/streams/{stream}/live',
      registers: [registry],
    }),
  };
}
