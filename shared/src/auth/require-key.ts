// Hono middleware that authenticates every request by its API key (Authorization: Bearer) and
// checks the route's scope. Web APIs only: the edge, ingest and query use this same code.
// 401 for a missing, unknown, expired or revoked key and 403 for a key without the scope, in the
// one error envelope; neither says which part was wrong (issue 21, item 2).

import { trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { errorResponse } from '../http/error-envelope.ts';
import { appError } from '../result.ts';
import { bearerKey } from './api-key.ts';
import type { Principal } from './principal.ts';
import { AUTH_OFF_PRINCIPAL } from './principal.ts';
import type { Scope } from './scopes.ts';

/** A key's principal, or undefined when it does not verify (sync on a service, cached at the edge). */
export type VerifyKey = (key: string) => Principal | undefined | Promise<Principal | undefined>;

export interface Auth {
  /** 'off' only when SLUICE_AUTH=off: every request is the default tenant with every scope. */
  readonly mode: 'on' | 'off';
  readonly verify: VerifyKey;
}

export type AuthVariables = { principal: Principal };

export const UNAUTHORIZED = appError(
  'unauthorized',
  'a valid API key is required: Authorization: Bearer <key>',
);
export const FORBIDDEN = appError('forbidden', 'this API key may not do this');

/** The principal of a request's Authorization header, or the 401 to answer. */
export async function authenticate(auth: Auth, header: string | undefined): Promise<Principal | undefined> {
  if (auth.mode === 'off') return AUTH_OFF_PRINCIPAL;
  const key = bearerKey(header);
  return key === undefined ? undefined : auth.verify(key);
}

/**
 * Lets a request through only with a key holding `scope` (any of `scopes`); sets `principal`.
 * The span gets the key's id and tenant, never the key (issue 21: no secrets in traces).
 */
export function requireScope(
  auth: Auth,
  ...scopes: Scope[]
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const principal = await authenticate(auth, c.req.header('authorization'));
    if (principal === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="sluice"');
      return errorResponse(c, UNAUTHORIZED);
    }
    if (!scopes.some((s) => principal.scopes.includes(s))) return errorResponse(c, FORBIDDEN);
    c.set('principal', principal);
    trace
      .getActiveSpan()
      ?.setAttributes({ 'sluice.key_id': principal.keyId, 'sluice.tenant': principal.tenant });
    await next();
  };
}

/**
 * /healthz, /readyz and /metrics: open when the service is configured so (SLUICE_OPS_OPEN, for a
 * probe or a scraper on a private network), else they need an `admin` key.
 */
export function opsAccess(auth: Auth, open: boolean): MiddlewareHandler<{ Variables: AuthVariables }> {
  const admin = requireScope(auth, 'admin');
  return open ? async (_c, next) => next() : admin;
}
