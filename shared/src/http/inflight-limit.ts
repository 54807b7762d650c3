// Bounds the work a service holds at once (guarantee 5): past `maxRequests` requests or `maxBytes`
// of bodies being read and processed, a request is answered 503 with Retry-After at once, before a
// byte of its body is read, instead of queueing without bound. Web APIs only (edge and ingest).

import type { MiddlewareHandler } from 'hono';
import { appError } from '../result.ts';
import { errorResponse } from './error-envelope.ts';

export interface InflightLimitOptions {
  /** Requests handled at once, at most. */
  readonly maxRequests: number;
  /** Body bytes held at once, at most (a request alone may hold more: the body limit bounds it). */
  readonly maxBytes: number;
  /**
   * What a body is counted as when its size is not known before it is read (no Content-Length) or
   * may grow while it is (gzip): the most it may become, the request body limit.
   */
  readonly unknownBodyBytes: number;
  readonly retryAfterSeconds?: number;
}

/** Nothing is set on the context; exported for the convention (STYLE #6). */
export type InflightLimitVariables = Record<never, never>;

export interface InflightLimit {
  readonly middleware: MiddlewareHandler;
  /** Requests and bytes held now (for tests and gauges). */
  held(): { readonly requests: number; readonly bytes: number };
}

export function inflightLimit(options: InflightLimitOptions): InflightLimit {
  let requests = 0;
  let bytes = 0;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const middleware: MiddlewareHandler = async function inflightLimit(c, next) {
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    const encoded = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase() !== 'identity';
    const cost = Number.isFinite(declared) && declared >= 0 && !encoded ? declared : options.unknownBodyBytes;
    // INVARIANT: requests <= maxRequests, and bytes <= maxBytes unless one request alone holds more
    // (the body limit, not this bound, refuses that one).
    if (requests >= options.maxRequests || (requests > 0 && bytes + cost > options.maxBytes)) {
      return errorResponse(
        c,
        appError('unavailable', 'too many requests in progress; retry shortly', { retryAfterSeconds }),
      );
    }
    requests += 1;
    bytes += cost;
    try {
      await next();
    } finally {
      requests -= 1;
      bytes -= cost;
    }
  };
  return { middleware, held: () => ({ requests, bytes }) };
}
