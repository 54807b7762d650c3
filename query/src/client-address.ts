// Who a client is, for per-client limits (the live route's per-client cap): with auth on, its
// key (principal.keyId: one key is one client however many addresses it comes from, and clients
// behind one proxy are told apart); with auth off, the address the request came from.
//
// NOTE: the socket's peer address, as the server saw it: on Bun, `server.requestIP(request)` (Bun
// calls the app's fetch with the server as Hono's `env`); on Node, `@hono/node-server`'s `incoming`
// socket. Never X-Forwarded-For or the like, which any client can write: behind a reverse proxy
// every client then has the proxy's address, so there the per-client cap limits the proxy (raise
// SLUICE_QUERY_MAX_LIVE_CLIENTS_PER_ADDRESS, or cap per client at the proxy). A request with
// neither (an in-process `app.request` without env) counts as `unknown`: one client.

import type { Principal } from '@sluice/shared/auth/principal';
import { AUTH_OFF_PRINCIPAL } from '@sluice/shared/auth/principal';

interface BunServerLike {
  requestIP(request: Request): { readonly address: string } | null;
}
interface NodeBindingsLike {
  readonly incoming: { readonly socket?: { readonly remoteAddress?: string } };
}

const isBunServer = (env: unknown): env is BunServerLike =>
  typeof env === 'object' && env !== null && typeof (env as Partial<BunServerLike>).requestIP === 'function';
const isNodeBindings = (env: unknown): env is NodeBindingsLike =>
  typeof env === 'object' && env !== null && typeof (env as Partial<NodeBindingsLike>).incoming === 'object';

export function clientAddress(env: unknown, request: Request): string {
  if (isBunServer(env)) return env.requestIP(request)?.address ?? 'unknown';
  if (isNodeBindings(env)) return env.incoming.socket?.remoteAddress ?? 'unknown';
  return 'unknown';
}

/** A client's identity for per-client caps: `key:<id>` with auth on, `address:<peer>` with it off. */
export function clientIdentity(env: unknown, request: Request, principal: Principal): string {
  return principal.keyId === AUTH_OFF_PRINCIPAL.keyId
    ? `address:${clientAddress(env, request)}`
    : `key:${principal.keyId}`;
}
