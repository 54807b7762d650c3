// The admin API (issue 21, item 1) and usage (item 4). An `admin` key manages the keys of its OWN
// tenant only: the tenant of a new key is the admin key's (never the body's), a list shows that
// tenant's keys, and revoking another tenant's key answers 404 as an unknown id would (no tenant
// learns another's key ids). A new key is shown once, in the 201; the list never holds a key or a
// hash. A revoked key stops working within ~1 s on every service (key-table.ts: NOTIFY and poll).
// GET /v1/usage: the caller's tenant's events accepted today against its daily quota.

import type { OpenAPIHono } from '@hono/zod-openapi';
import { createRoute, z } from '@hono/zod-openapi';
import type { Admission } from '@sluice/shared/auth/admission';
import { isKeyId } from '@sluice/shared/auth/api-key';
import { createKey, listKeys, revokeKey } from '@sluice/shared/auth/key-store';
import type { Db } from '@sluice/shared/db/client';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import { appError } from '@sluice/shared/result';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { readFailure } from '../read-failure.ts';
import type { QueryEnv } from './contract.ts';
import {
  authErrors,
  BEARER,
  bearer,
  ErrorEnvelope,
  errors,
  json,
  serveRoute,
  validated,
} from './contract.ts';

/** Largest admin request body: a key spec is a few hundred bytes. */
export const MAX_ADMIN_BODY_BYTES = 4_096;

/** What an admin key may grant: never events:relay, the edge's own scope (set by an operator). */
export const GRANTABLE_SCOPES = ['events:write', 'windows:read', 'admin'] as const;

export const NewKeyBody = z
  .object({
    scopes: z
      .array(z.enum(GRANTABLE_SCOPES))
      .min(1)
      .max(GRANTABLE_SCOPES.length)
      .openapi({ description: 'What the key may do (events:relay is for an operator to grant)' }),
    name: z.string().min(1).max(200).optional(),
    eventsPerSecond: z.number().int().positive().max(1_000_000).optional(),
    requestsPerSecond: z.number().int().positive().max(1_000_000).optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .refine((at) => at === undefined || Date.parse(at) > Date.now(), { message: 'must be in the future' })
      .openapi({ description: 'RFC 3339, in the future' }),
  })
  .strict()
  .openapi('NewKey', { description: "The new key's tenant is the admin key's own" });

type AdminContext = Context<QueryEnv>;

/** The admin body's bound, checked while it is read (a larger one is never buffered whole). */
export const adminBodyLimit: MiddlewareHandler = bodyLimit({
  maxSize: MAX_ADMIN_BODY_BYTES,
  onError: (c) =>
    errorResponse(c, appError('payload_too_large', `the body is over ${MAX_ADMIN_BODY_BYTES} bytes`)),
});

/** PostgreSQL away or slow: a 503 with Retry-After (as the reads answer), anything else thrown. */
export async function stored<T>(
  c: AdminContext,
  write: () => Promise<T>,
): Promise<{ value: T } | { response: Response }> {
  try {
    return { value: await write() };
  } catch (error) {
    const failure = readFailure(error);
    if (failure === undefined) throw error;
    return { response: errorResponse(c, failure) };
  }
}

export function adminHandlers(deps: { readonly keyDb: Db; readonly admission: Admission }) {
  return {
    async createKey(c: AdminContext): Promise<Response> {
      const spec = validated(c, 'json', NewKeyBody);
      const created = await stored(c, () =>
        createKey(deps.keyDb, {
          tenant: c.var.principal.tenant,
          scopes: [...new Set(spec.scopes)],
          ...(spec.name === undefined ? {} : { name: spec.name }),
          ...(spec.eventsPerSecond === undefined ? {} : { eventsPerSecond: spec.eventsPerSecond }),
          ...(spec.requestsPerSecond === undefined ? {} : { requestsPerSecond: spec.requestsPerSecond }),
          ...(spec.expiresAt === undefined ? {} : { expiresAt: new Date(spec.expiresAt) }),
        }),
      );
      if ('response' in created) return created.response;
      // The key is in this answer only: no cache may keep it.
      c.header('Cache-Control', 'no-store');
      return c.json(created.value, 201);
    },
    async listKeys(c: AdminContext): Promise<Response> {
      const listed = await stored(c, () => listKeys(deps.keyDb, c.var.principal.tenant));
      return 'response' in listed ? listed.response : c.json({ data: listed.value });
    },
    async revokeKey(c: AdminContext): Promise<Response> {
      const id = c.req.param('id') ?? '';
      // Ids are 16 base32 characters; anything else is no key (and never reaches PostgreSQL).
      const revoked = isKeyId(id)
        ? await stored(c, () => revokeKey(deps.keyDb, id, c.var.principal.tenant))
        : { value: 'unknown' as const };
      if ('response' in revoked) return revoked.response;
      if (revoked.value === 'unknown') return errorResponse(c, appError('not_found', 'no such key'));
      return c.body(null, 204);
    },
    async usage(c: AdminContext): Promise<Response> {
      try {
        return c.json(await deps.admission.usage(c.var.principal));
      } catch {
        return errorResponse(
          c,
          appError('unavailable', 'usage is not readable (Redis)', { retryAfterSeconds: 2 }),
        );
      }
    },
  };
}

const KeyInfo = z
  .object({
    id: z.string().openapi({ description: 'The public id (the 16 characters after slk_)' }),
    tenant: z.string(),
    name: z.string().nullable(),
    scopes: z.array(z.string()),
    eventsPerSecond: z.number().int().nullable(),
    requestsPerSecond: z.number().int().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('KeyInfo', { description: 'A key as listed: never the key, never its hash' });

const CreatedKey = KeyInfo.extend({
  key: z.string().openapi({ description: 'The key itself, shown this once: sluice keeps only its SHA-256' }),
}).openapi('CreatedKey');

const Usage = z
  .object({
    tenant: z.string(),
    day: z.string().openapi({ description: 'The UTC day, YYYY-MM-DD' }),
    events: z.number().int().openapi({ description: 'Events accepted today (acknowledged by Kafka)' }),
    quota: z.number().int().nullable().openapi({ description: 'Events per UTC day; null: none' }),
    remaining: z.number().int().nullable(),
    resetsAt: z.string().openapi({ description: 'The next UTC midnight' }),
  })
  .openapi('Usage');

const keyId = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'abcdefgh234567ab' }),
});

export const CREATE_KEY = createRoute({
  method: 'post',
  path: '/v1/admin/keys',
  summary: "Create a key of the admin key's own tenant; the key is in this answer only",
  ...bearer('admin'),
  request: { body: { content: { 'application/json': { schema: NewKeyBody } }, required: true } },
  responses: {
    201: json(CreatedKey, 'The new key (usable within a second on every service)'),
    400: errors[400],
    413: json(ErrorEnvelope, 'A body over 4 KB'),
    415: json(ErrorEnvelope, 'A body that is not application/json'),
    ...authErrors,
  },
});
export const LIST_KEYS = createRoute({
  method: 'get',
  path: '/v1/admin/keys',
  summary: "The admin key's tenant's keys (never a key or its hash)",
  ...bearer('admin'),
  responses: { 200: json(z.object({ data: z.array(KeyInfo) }), 'Every key of the tenant'), ...authErrors },
});
export const REVOKE_KEY = createRoute({
  method: 'delete',
  path: '/v1/admin/keys/{id}',
  summary: 'Revoke a key of the tenant: refused (401) on every service within 5 s',
  ...bearer('admin'),
  request: { params: keyId },
  responses: {
    204: { description: 'Revoked (again is not an error)' },
    404: json(ErrorEnvelope, 'No such key in this tenant'),
    ...authErrors,
  },
});
export const USAGE = createRoute({
  method: 'get',
  path: '/v1/usage',
  summary: "The tenant's events accepted today against its daily quota",
  security: [{ [BEARER]: [] }],
  description: 'Any valid key of the tenant (events:write, windows:read or admin).',
  responses: {
    200: json(Usage, 'Usage today (UTC)'),
    401: authErrors[401],
    403: authErrors[403],
    429: authErrors[429],
    503: errors[503],
  },
});

/** The key admin routes behind `admin` guards, and usage behind `anyKey` guards. */
export function adminKeyRoutes(
  app: OpenAPIHono<QueryEnv>,
  deps: { readonly keyDb: Db; readonly admission: Admission },
  admin: readonly MiddlewareHandler[],
  anyKey: readonly MiddlewareHandler[],
): void {
  const keys = adminHandlers(deps);
  serveRoute(app, CREATE_KEY, [...admin, adminBodyLimit], keys.createKey);
  serveRoute(app, LIST_KEYS, admin, keys.listKeys);
  serveRoute(app, REVOKE_KEY, admin, keys.revokeKey);
  serveRoute(app, USAGE, anyKey, keys.usage);
}
