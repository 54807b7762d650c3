// What every route's contract shares: the error envelope (its codes from the one list in
// shared/src/result.ts), the bearer scheme and its answers, and the one way a route is served
// (serveRoute): declared in the OpenAPI document and validated against that declaration by the
// same call, so the document cannot name a route that is not served, nor miss one that is.

import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import type { BaseVariables } from '@sluice/shared/http/app-defaults';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { ERROR_CODES } from '@sluice/shared/result';
import type { Context, Handler, MiddlewareHandler } from 'hono';

/** The query app's context: a request id, and the caller's principal once a guard let it in. */
export type QueryEnv = { Variables: BaseVariables & AuthVariables };

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('ErrorEnvelope');

export const json = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** The bearer scheme's name in components.securitySchemes. */
export const BEARER = 'apiKey';
export const bearer = (scope: string) => ({
  security: [{ [BEARER]: [] }],
  description: `Needs an API key with the \`${scope}\` scope (Authorization: Bearer slk_...).`,
});
/** Why some stream-wide figures are null for most keys (query/src/operator-view.ts). */
export const OPERATOR_VIEW =
  "A stream's operational figures add up every tenant's volume: they are given only to a key that also holds the `admin` scope, and are null for any other key";
export const authErrors = {
  401: json(
    ErrorEnvelope,
    'No key, or a malformed, unknown, expired or revoked one (WWW-Authenticate: Bearer)',
  ),
  403: json(ErrorEnvelope, 'The key has not the scope this needs'),
  429: json(
    ErrorEnvelope,
    "The key's requests per second are used up (Retry-After, RateLimit-Policy and RateLimit headers)",
  ),
};
export const errors = {
  ...authErrors,
  400: json(ErrorEnvelope, 'Invalid parameters (details name each field)'),
  404: json(ErrorEnvelope, 'Unknown stream or route'),
  503: json(
    ErrorEnvelope,
    'PostgreSQL or Redis unreachable, or a read past the statement timeout (Retry-After)',
  ),
};

export const StreamParam = z.object({
  stream: z.string().openapi({ param: { name: 'stream', in: 'path' }, example: 'ecommerce' }),
});

/** A parameter that may be given once or repeated (each value then counts). */
export const repeatable = (description: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description });

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'sluice query API',
    version: '1.0.0',
    description:
      "Windowed aggregates of sluice streams, each row with its completeness (status, version) and the watermark. Errors share one envelope with a request id. Every call but this document, /docs and the dashboard's files needs an API key (Authorization: Bearer slk_...), and reads the key's tenant only; create one with `./sluice keys create --tenant T --scopes windows:read` or POST /v1/admin/keys.",
  },
};

/** Declares the bearer scheme every guarded route names. */
export function declareSecurity(app: OpenAPIHono<QueryEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER, {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (slk_<id>_<secret>), bound to one tenant, with scopes events:write, windows:read, admin. Auth off (SLUICE_AUTH=off): no key, every caller the tenant "default".',
  });
}

/** A request the contract refuses answers in the one envelope: 400 validation_failed, each field named. */
function refused(result: { success: boolean; error?: z.ZodError }, c: Context): Response | undefined {
  if (result.success || result.error === undefined) return undefined;
  return errorResponse(c, validationError(result.error, 'invalid request'));
}

/**
 * Serves `contract` at its method and path: `guards` first (the key's scope, admission), then the
 * contract's validation of path, query, headers and body, then `handler`. One call declares and
 * serves: the document is what the app serves.
 *
 * `queryByStream`: the query's rules depend on the stream named in the path (its windows, keys and
 * aggregations), so the handler validates it against that stream and names every invalid parameter
 * at once (windows-params.ts); the contract declares the query's general shape for the document.
 */
export function serveRoute(
  app: OpenAPIHono<QueryEnv>,
  contract: RouteConfig,
  guards: readonly MiddlewareHandler[],
  handler: Handler<QueryEnv>,
  options: { readonly queryByStream?: boolean } = {},
): void {
  if (options.queryByStream !== true) {
    app.openapi({ ...contract, middleware: [...guards] }, handler, refused);
    return;
  }
  app.openAPIRegistry.registerPath(contract);
  const { query: _byStream, ...request } = contract.request ?? {};
  // Declared above, whole; served with the rest of its contract checked here.
  app.openapi({ ...contract, request, middleware: [...guards], hide: true }, handler, refused);
}

/** What the contract validated for `target` (serveRoute ran `schema` on it before the handler). */
export function validated<S extends z.ZodType>(
  c: Context,
  target: 'json' | 'query' | 'param',
  schema: S,
): z.output<S> {
  // The contract's validator stored the parsed value; parse again only to give it its type.
  return schema.parse((c.req.valid as (t: string) => unknown)(target));
}
