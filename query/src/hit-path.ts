// The hit path: a GET of the windows route whose answer this process holds, and knows current
// without any I/O, is answered here, before Hono. A dashboard's polls are mostly such hits, and on
// Bun's server Hono's context, router and three middleware cost more CPU than the hit itself
// (bench query: ~92 µs a request for GET /healthz against ~38 µs for a bare Bun.serve answer).
//
// It answers exactly as the route would: the same lookup of the query string (windows-lookup.ts),
// the same in-process answer (the local tier's peek, which keeps guarantee 3 as its get does), the
// same headers and 304 (cached-answer.ts), the request id by Hono's rule (request-id.ts), the
// request counted in the same metrics under the route's label, and the same SERVER span. Anything
// else (a query string not parsed before, a miss, a stale or unverified answer, another route)
// goes to Hono: this path only ever declines.
//
// Auth (issue 21) costs no I/O here: the key is verified by the in-memory key table (a hash and a
// map lookup), and the parse and the answer are looked up under the key's tenant, so a tenant is
// never served another's answer. A key with limits is admitted here only from its lease (leases.ts:
// units of its shared budget this process already holds), with the RateLimit headers. Any request
// this path cannot settle alone goes to Hono, which answers it in full: no key or a bad one (401),
// no windows:read (403), a limited key without a lease (admitted in Redis: request-admission.ts).

import type { Tracer } from '@opentelemetry/api';
import type { Admission } from '@sluice/shared/auth/admission';
import { bearerKey } from '@sluice/shared/auth/api-key';
import type { Principal } from '@sluice/shared/auth/principal';
import { AUTH_OFF_PRINCIPAL, hasLimits } from '@sluice/shared/auth/principal';
import type { Auth } from '@sluice/shared/auth/require-key';
import type { HttpMetrics } from '@sluice/shared/http/metrics';
import { REQUEST_ID_HEADER, requestIdFor } from '@sluice/shared/http/request-id';
import { traceAnsweredRequest } from '@sluice/shared/http/trace-middleware';
import type { Counter } from 'prom-client';
import { answerResponse } from './cached-answer.ts';
import type { ResponseCache } from './response-cache.ts';
import { WINDOWS_ROUTE } from './routes/windows.ts';
import type { WindowsLookup } from './windows-lookup.ts';
import { requestTarget } from './windows-lookup.ts';

export interface HitPathDeps {
  readonly auth: Auth;
  readonly admission: Pick<Admission, 'admitNow'>;
  readonly lookup: WindowsLookup;
  readonly cache: ResponseCache;
  readonly http: HttpMetrics;
  readonly cacheRequests: Counter<'result'>;
  readonly tracer: Tracer;
  /** The tracing SDK's ratio for new roots: at 0, a request without a traceparent is never traced. */
  readonly sampleRatio: number;
  readonly now: () => number;
}

/** A target's path, without its query string. */
const pathOf = (target: string) => {
  const at = target.indexOf('?');
  return at === -1 ? target : target.slice(0, at);
};

/**
 * The principal of a request the hit path may answer: a key that verifies without waiting and
 * holds windows:read; undefined sends the request to Hono.
 */
function readerOf(auth: Auth, header: string | null): Principal | undefined {
  if (auth.mode === 'off') return AUTH_OFF_PRINCIPAL;
  const key = bearerKey(header);
  if (key === undefined) return undefined;
  const principal = auth.verify(key);
  if (principal === undefined || principal instanceof Promise) return undefined;
  return principal.scopes.includes('windows:read') ? principal : undefined;
}

/** Answers a request if it is a hit this process can serve at once; undefined declines it. */
export function hitPath(deps: HitPathDeps): (request: Request) => Response | undefined {
  const peek = deps.cache.peek?.bind(deps.cache);
  if (peek === undefined) return () => undefined;
  const counted = deps.http.recorder(WINDOWS_ROUTE, 'GET', [
    { counter: deps.cacheRequests, labels: { result: 'hit' } },
  ]);
  return (request) => {
    if (request.method !== 'GET') return undefined;
    const started = performance.now();
    // Only the windows route keeps parses, under the target as sent: one found is its request.
    const headers = request.headers;
    const reader = readerOf(deps.auth, headers.get('authorization'));
    if (reader === undefined) return undefined;
    const target = requestTarget(request.url);
    const asked = deps.lookup.kept(reader.tenant, target);
    if (asked === undefined) return undefined;
    const resolved = deps.lookup.resolve(asked, deps.now());
    if (!resolved.success) return undefined;
    const answer = peek(resolved.data.request.key);
    if (answer === undefined) return undefined;
    // Last, once the answer is certain: a lease's unit is spent only on a request answered here.
    const admitted = hasLimits(reader)
      ? deps.admission.admitNow(reader, { events: 0, requests: 1 })
      : undefined;
    if (hasLimits(reader) && admitted === undefined) return undefined;

    const id = requestIdFor(headers.get(REQUEST_ID_HEADER));
    const response = answerResponse(answer, 'hit', headers.get('if-none-match') ?? undefined, (body, own) => {
      own[REQUEST_ID_HEADER] = id;
      if (admitted !== undefined) Object.assign(own, admitted.headers);
      return new Response(body, { status: body === null ? 304 : 200, headers: own });
    });
    // At ratio 0 the SDK would make a root span that records nothing: none is made.
    if (deps.sampleRatio > 0 || headers.has('traceparent'))
      traceAnsweredRequest(
        deps.tracer,
        { method: 'GET', path: pathOf(target), headers },
        {
          route: WINDOWS_ROUTE,
          status: response.status,
          attributes: {
            'sluice.cache': 'hit',
            'sluice.key_id': reader.keyId,
            'sluice.tenant': reader.tenant,
          },
        },
      );
    counted.record(response.status, (performance.now() - started) / 1000);
    return response;
  };
}
