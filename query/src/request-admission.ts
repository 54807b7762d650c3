// A key's requests per second (issue 21, item 4), after requireScope: a key with limits is judged
// in Redis (one script, shared by every query process); a key without them, and every request
// with auth off, passes without any Redis call. Refused: 429 rate_limited in the envelope with
// Retry-After and the IETF RateLimit-Policy / RateLimit headers; admitted: the same headers on
// the answer.

import type { Admission } from '@sluice/shared/auth/admission';
import { hasLimits } from '@sluice/shared/auth/principal';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import { appError } from '@sluice/shared/result';
import type { MiddlewareHandler } from 'hono';

export function admitRequests(admission: Admission): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const { principal } = c.var;
    if (!hasLimits(principal)) return next();
    let verdict: Awaited<ReturnType<Admission['admit']>>;
    try {
      verdict = await admission.admit(principal, { events: 0, requests: 1 });
    } catch {
      // The limits cannot be judged: refused for now rather than served unlimited.
      return errorResponse(
        c,
        appError('unavailable', 'rate limits cannot be checked (Redis)', { retryAfterSeconds: 2 }),
      );
    }
    if (!verdict.allowed) {
      for (const [name, value] of Object.entries(verdict.headers)) c.header(name, value);
      return errorResponse(
        c,
        appError('rate_limited', `this key's ${verdict.refusedBy ?? 'requests'} per second are used up`, {
          retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000),
        }),
      );
    }
    await next();
    // After the handler: its answer (a cached Response or a stream) gets the headers too.
    for (const [name, value] of Object.entries(verdict.headers)) c.res.headers.set(name, value);
  };
}
