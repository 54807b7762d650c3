// The admin API (issue 21, item 1) and usage (item 4). An `admin` key manages the keys of its OWN
// tenant only: the tenant of a new key is the admin key's (never the body's), a list shows that
// tenant's keys, and revoking another tenant's key answers 404 as an unknown id would (no tenant
// learns another's key ids). A new key is shown once, in the 201; the list never holds a key or a
// hash. A revoked key stops working within ~1 s on every service (key-table.ts: NOTIFY and poll).
// GET /v1/usage: the caller's tenant's events accepted today against its daily quota.

import type { Admission } from '@sluice/shared/auth/admission';
import { isKeyId } from '@sluice/shared/auth/api-key';
import { createKey, listKeys, revokeKey } from '@sluice/shared/auth/key-store';
import type { AuthVariables } from '@sluice/shared/auth/require-key';
import type { Db } from '@sluice/shared/db/client';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import { appError } from '@sluice/shared/result';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { readFailure } from './read-failure.ts';

/** Largest admin request body: a key spec is a few hundred bytes. */
export const MAX_ADMIN_BODY_BYTES = 4_096;

/** What an admin key may grant: never events:relay, the edge's own scope (set by an operator). */
export const GRANTABLE_SCOPES = ['events:write', 'windows:read', 'admin'] as const;

export const NewKeyBody = z
  .object({
    scopes: z.array(z.enum(GRANTABLE_SCOPES)).min(1).max(GRANTABLE_SCOPES.length),
    name: z.string().min(1).max(200).optional(),
    eventsPerSecond: z.number().int().positive().max(1_000_000).optional(),
    requestsPerSecond: z.number().int().positive().max(1_000_000).optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .refine((at) => at === undefined || Date.parse(at) > Date.now(), { message: 'must be in the future' }),
  })
  .strict();

type AdminContext = Context<{ Variables: AuthVariables }>;

/** The admin body's bound, checked while it is read (a larger one is never buffered whole). */
export const adminBodyLimit: MiddlewareHandler = bodyLimit({
  maxSize: MAX_ADMIN_BODY_BYTES,
  onError: (c) =>
    errorResponse(c, appError('payload_too_large', `the body is over ${MAX_ADMIN_BODY_BYTES} bytes`)),
});

export async function readJson(c: AdminContext): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: JSON.parse(await c.req.text()) as unknown };
  } catch {
    return { ok: false };
  }
}

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
      const body = await readJson(c);
      if (!body.ok) return errorResponse(c, appError('bad_request', 'the body must be JSON'));
      const parsed = NewKeyBody.safeParse(body.value);
      if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid key'));
      const spec = parsed.data;
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
