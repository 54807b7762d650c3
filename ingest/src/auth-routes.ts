// Admission of a write and the two routes the edge asks ingest, so that it never touches the
// database nor Redis itself (edge/src/key-cache.ts says why):
// - GET /v1/auth/key: the principal of the caller's key (keyId, tenant, scopes, expiry, limits);
// - POST /v1/admission {"events": n}: runs the rate limits and quota for the caller's key, as
//   POST /v1/events does for a key-holding client here.

import type { Admission } from '@sluice/shared/auth/admission';
import type { Principal } from '@sluice/shared/auth/principal';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { Logger } from '@sluice/shared/log';
import { appError } from '@sluice/shared/result';
import type { Context } from 'hono';
import { z } from 'zod';

/** Events one admission may ask for: a bound on client input, far above any request's events. */
export const MAX_ADMISSION_EVENTS = 1_000_000;
const MAX_ADMISSION_BODY_BYTES = 1024;

const admissionBody = z.object({ events: z.number().int().min(0).max(MAX_ADMISSION_EVENTS) }).strict();

type AuthContext = Context<{ Variables: AuthVariables }>;

/** Admitted (the RateLimit headers, already set on the answer to come), or the answer refusing. */
export type Admitted =
  | { readonly ok: true; readonly headers: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly response: Response };

/**
 * Judges a request of `events` events for its key (issue 21, item 4: admitted whole or refused
 * whole). Refused: the 429 (Retry-After and the headers), or a 503 when Redis cannot say.
 */
export async function admitOrRefuse(
  c: Context,
  admission: Admission,
  principal: Principal,
  events: number,
  log: Logger,
): Promise<Admitted> {
  let verdict: Awaited<ReturnType<Admission['admit']>>;
  try {
    verdict = await admission.admit(principal, { events, requests: 1 });
  } catch (error) {
    log.warn({ keyId: principal.keyId, err: error }, 'admission failed: Redis unreachable');
    const response = errorResponse(
      c,
      appError('unavailable', 'rate limits cannot be checked right now', { retryAfterSeconds: 1 }),
    );
    return { ok: false, response };
  }
  for (const [name, value] of Object.entries(verdict.headers)) c.header(name, value);
  if (verdict.allowed) return { ok: true, headers: verdict.headers };
  const response = errorResponse(
    c,
    appError('rate_limited', `rate limit exceeded (${verdict.refusedBy ?? 'events'}); retry later`, {
      retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000),
    }),
  );
  return { ok: false, response };
}

/** GET /v1/auth/key: what the caller's key stands for; never cached by an intermediary. */
export function keyHandler(c: AuthContext): Response {
  const { keyId, tenant, scopes, expiresAt, limits } = c.var.principal;
  c.header('Cache-Control', 'no-store');
  return c.json({ keyId, tenant, scopes, expiresAt, limits });
}

/** POST /v1/admission {"events": n}: 200 with the RateLimit headers, or 429 with them. */
export function admissionHandler(deps: { readonly admission: Admission; readonly log: Logger }) {
  return async function admit(c: AuthContext): Promise<Response> {
    const length = Number(c.req.header('content-length') ?? Number.NaN);
    if (Number.isFinite(length) && length > MAX_ADMISSION_BODY_BYTES)
      return errorResponse(
        c,
        appError('payload_too_large', `body exceeds ${MAX_ADMISSION_BODY_BYTES} bytes`),
      );
    const text = await c.req.text();
    let json: unknown;
    try {
      json = text.length > MAX_ADMISSION_BODY_BYTES ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const body = admissionBody.safeParse(json);
    if (!body.success)
      return errorResponse(
        c,
        appError('bad_request', `expected {"events": n}, n an integer 0..${MAX_ADMISSION_EVENTS}`),
      );
    const admitted = await admitOrRefuse(c, deps.admission, c.var.principal, body.data.events, deps.log);
    if (!admitted.ok) return admitted.response;
    return c.json({ allowed: true, headers: admitted.headers });
  };
}
