// The edge's rate limit check: ingest's POST /v1/admission with the client's own key, so every
// edge and ingest process judges a key against one set of counters in Redis (issue 21, item 4)
// while the edge itself talks to nothing but ingest. Asked only for a key with limits
// (hasLimits), so a key without them costs no round trip.

import { FORBIDDEN, UNAUTHORIZED } from '@sluice/shared/auth/require-key';
import type { AppError } from '@sluice/shared/result';
import { appError } from '@sluice/shared/result';

export interface AdmissionClientOptions {
  readonly ingestUrl: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** The RateLimit headers to pass on, and the refusal when not admitted. */
export type EdgeAdmission =
  | { readonly allowed: true; readonly headers: Readonly<Record<string, string>> }
  | { readonly allowed: false; readonly headers: Readonly<Record<string, string>>; readonly error: AppError };

export type AdmitAtIngest = (key: string, events: number) => Promise<EdgeAdmission>;

const RATE_HEADERS = ['RateLimit-Policy', 'RateLimit'] as const;

function rateHeaders(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of RATE_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

export function createAdmissionClient(options: AdmissionClientOptions): AdmitAtIngest {
  const doFetch = options.fetch ?? fetch;
  const url = new URL('/v1/admission', options.ingestUrl).toString();
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async (key, events) => {
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      return {
        allowed: false,
        headers: {},
        error: appError('unavailable', 'rate limits cannot be checked right now', { retryAfterSeconds: 1 }),
      };
    }
    await response.body?.cancel();
    const headers = rateHeaders(response);
    if (response.status === 200) return { allowed: true, headers };
    if (response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after') ?? '1');
      return {
        allowed: false,
        headers,
        error: appError('rate_limited', 'rate limit exceeded; retry later', {
          retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : 1,
        }),
      };
    }
    // The key was revoked since the edge verified it (its cache's TTL): refused as ingest would.
    if (response.status === 401) return { allowed: false, headers, error: UNAUTHORIZED };
    if (response.status === 403) return { allowed: false, headers, error: FORBIDDEN };
    return {
      allowed: false,
      headers,
      error: appError('unavailable', `rate limits cannot be checked (ingest answered ${response.status})`, {
        retryAfterSeconds: 1,
      }),
    };
  };
}
