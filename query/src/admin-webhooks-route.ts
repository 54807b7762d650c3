// The admin API of webhook sources (issue 22, item 1), beside the key admin: an `admin` key
// manages its OWN tenant's sources. A new source is the admin key's tenant's (never the body's);
// another tenant's source id answers 404 as an unknown one would. A secret goes in, sealed with
// SLUICE_SECRETS_KEY before PostgreSQL sees it, and never comes back out: not in the 201, not in a
// list. Without SLUICE_SECRETS_KEY a source cannot be added or rotated (503 saying so).

import type { AuthVariables } from '@sluice/shared/auth/require-key';
import type { Db } from '@sluice/shared/db/client';
import { errorResponse, validationError } from '@sluice/shared/http/error-envelope';
import type { AppError, Result } from '@sluice/shared/result';
import { appError } from '@sluice/shared/result';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { SecretBox } from '@sluice/shared/webhooks/secret-box';
import { PROVIDERS, SOURCE_ID_PATTERN } from '@sluice/shared/webhooks/source';
import {
  addSource,
  listSources,
  removeSource,
  retirePrevious,
  rotateSource,
} from '@sluice/shared/webhooks/source-store';
import type { Context } from 'hono';
import { z } from 'zod';
import { readJson, stored } from './admin-route.ts';

type AdminContext = Context<{ Variables: AuthVariables }>;

export const NewSourceBody = z
  .object({
    provider: z.enum(PROVIDERS),
    secret: z.string().min(1).max(512),
    stream: z.string().min(1).max(63).optional(),
    name: z.string().min(1).max(200).optional(),
    /** Checked by the store (sourceOptionsSchema): tolerance, the generic HMAC scheme, a mapping. */
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const RotateBody = z
  .object({
    secret: z.string().min(1).max(512),
    /** How long the old secret keeps verifying (default 24 h; 0: retire it at once). */
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional(),
  })
  .strict();

export interface AdminWebhooksDeps {
  readonly keyDb: Db;
  readonly streams: StreamRegistry;
  /** SLUICE_SECRETS_KEY's box, or why there is none. */
  readonly secretBox: Result<SecretBox, AppError>;
}

/** The store's answer: a value, or its AppError (validation, not found) in the one envelope. */
function answer<T>(c: AdminContext, result: Result<T, AppError>, send: (value: T) => Response): Response {
  return result.ok ? send(result.value) : errorResponse(c, result.error);
}

const NO_SOURCE = appError('not_found', 'no such webhook source');

/** The id of the URL, when it is shaped as ours (else no source: never asked of PostgreSQL). */
const idOf = (c: AdminContext): string | undefined => {
  const id = c.req.param('id') ?? '';
  return SOURCE_ID_PATTERN.test(id) ? id : undefined;
};

export function adminWebhookHandlers(deps: AdminWebhooksDeps) {
  return {
    async add(c: AdminContext): Promise<Response> {
      if (!deps.secretBox.ok) return errorResponse(c, deps.secretBox.error);
      const box = deps.secretBox.value;
      const body = await readJson(c);
      if (!body.ok) return errorResponse(c, appError('bad_request', 'the body must be JSON'));
      const parsed = NewSourceBody.safeParse(body.value);
      if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid webhook source'));
      const spec = parsed.data;
      const added = await stored(c, () =>
        addSource(deps.keyDb, box, deps.streams, {
          tenant: c.var.principal.tenant,
          provider: spec.provider,
          secret: spec.secret,
          ...(spec.stream === undefined ? {} : { stream: spec.stream }),
          ...(spec.name === undefined ? {} : { name: spec.name }),
          ...(spec.options === undefined ? {} : { options: spec.options }),
        }),
      );
      if ('response' in added) return added.response;
      return answer(c, added.value, (source) => c.json(source, 201));
    },
    async list(c: AdminContext): Promise<Response> {
      const listed = await stored(c, () => listSources(deps.keyDb, c.var.principal.tenant));
      return 'response' in listed ? listed.response : c.json({ data: listed.value });
    },
    async rotate(c: AdminContext): Promise<Response> {
      if (!deps.secretBox.ok) return errorResponse(c, deps.secretBox.error);
      const box = deps.secretBox.value;
      const id = idOf(c);
      if (id === undefined) return errorResponse(c, NO_SOURCE);
      const body = await readJson(c);
      if (!body.ok) return errorResponse(c, appError('bad_request', 'the body must be JSON'));
      const parsed = RotateBody.safeParse(body.value);
      if (!parsed.success) return errorResponse(c, validationError(parsed.error, 'invalid rotation'));
      const { secret, overlapSeconds } = parsed.data;
      const rotated = await stored(c, () =>
        rotateSource(deps.keyDb, box, id, secret, {
          tenant: c.var.principal.tenant,
          ...(overlapSeconds === undefined ? {} : { overlapMs: overlapSeconds * 1000 }),
        }),
      );
      if ('response' in rotated) return rotated.response;
      return answer(c, rotated.value, (source) => c.json(source));
    },
    async retire(c: AdminContext): Promise<Response> {
      const id = idOf(c);
      if (id === undefined) return errorResponse(c, NO_SOURCE);
      const retired = await stored(c, () => retirePrevious(deps.keyDb, id, c.var.principal.tenant));
      if ('response' in retired) return retired.response;
      return answer(c, retired.value, (source) => c.json(source));
    },
    async remove(c: AdminContext): Promise<Response> {
      const id = idOf(c);
      if (id === undefined) return errorResponse(c, NO_SOURCE);
      const removed = await stored(c, () => removeSource(deps.keyDb, id, c.var.principal.tenant));
      if ('response' in removed) return removed.response;
      return answer(c, removed.value, () => c.body(null, 204));
    },
  };
}
