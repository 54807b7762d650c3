// The admin API of webhook sources (issue 22, item 1), beside the key admin: an `admin` key
// manages its OWN tenant's sources. A new source is the admin key's tenant's (never the body's);
// another tenant's source id answers 404 as an unknown one would. A secret goes in, sealed with
// SLUICE_SECRETS_KEY before PostgreSQL sees it, and never comes back out: not in the 201, not in a
// list. Without SLUICE_SECRETS_KEY a source cannot be added or rotated (503 saying so).

import type { OpenAPIHono } from '@hono/zod-openapi';
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '@sluice/shared/db/client';
import { errorResponse } from '@sluice/shared/http/error-envelope';
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
import type { Context, MiddlewareHandler } from 'hono';
import { adminBodyLimit, stored } from './admin-keys.ts';
import type { QueryEnv } from './contract.ts';
import { authErrors, bearer, ErrorEnvelope, errors, json, serveRoute, validated } from './contract.ts';

type AdminContext = Context<QueryEnv>;

export const NewSourceBody = z
  .object({
    provider: z.enum(PROVIDERS),
    secret: z.string().min(1).max(512).openapi({
      description:
        "The provider's signing secret (Standard Webhooks: whsec_<base64>); sealed at rest, never shown again",
    }),
    stream: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .openapi({ description: 'Default `webhooks`; another stream needs options.mapping' }),
    name: z.string().min(1).max(200).optional(),
    /** Checked by the store (sourceOptionsSchema): tolerance, the generic HMAC scheme, a mapping. */
    options: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        'toleranceSeconds (default 300); hmac {header, algorithm, encoding, prefix, timestampHeader, idHeader, typeHeader, signedContent} for provider hmac; mapping {field: JSON pointer into {provider, type, account, delivery_id, payload}}',
    }),
  })
  .strict()
  .openapi('NewWebhookSource', { description: "The source's tenant is the admin key's own" });

export const RotateBody = z
  .object({
    secret: z.string().min(1).max(512),
    /** How long the old secret keeps verifying (default 24 h; 0: retire it at once). */
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional()
      .openapi({ description: 'How long the old secret keeps verifying (default 86400)' }),
  })
  .strict()
  .openapi('RotateWebhookSecret');

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
      const spec = validated(c, 'json', NewSourceBody);
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
      const { secret, overlapSeconds } = validated(c, 'json', RotateBody);
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

const WebhookSourceInfo = z
  .object({
    id: z.string().openapi({ example: 'wh_abcdefghijklmnopqrstuvwxyz' }),
    url: z.string().openapi({ description: 'The path a provider posts to, on the edge or ingest' }),
    tenant: z.string(),
    name: z.string().nullable(),
    provider: z.enum(PROVIDERS),
    stream: z.string(),
    options: z.record(z.string(), z.unknown()),
    previousSecretRetiresAt: z
      .string()
      .nullable()
      .openapi({ description: 'While rotating: when the previous secret stops verifying' }),
    removedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('WebhookSource', { description: 'A webhook source as listed: never a secret' });

const sourceId = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'wh_abcdefghijklmnopqrstuvwxyz' }),
});
const NO_SECRETS = json(
  ErrorEnvelope,
  'SLUICE_SECRETS_KEY is not set on the query service, or PostgreSQL is away',
);
const NO_SUCH_SOURCE = json(ErrorEnvelope, 'No such live source in this tenant');

export const ADD_SOURCE = createRoute({
  method: 'post',
  path: '/v1/admin/webhooks',
  summary: "Declare a webhook source of the admin key's tenant (the secret is sealed, never shown again)",
  ...bearer('admin'),
  request: { body: { content: { 'application/json': { schema: NewSourceBody } }, required: true } },
  responses: {
    201: json(WebhookSourceInfo, 'The new source; providers post to its url within a second'),
    400: errors[400],
    413: json(ErrorEnvelope, 'A body over 4 KB'),
    415: json(ErrorEnvelope, 'A body that is not application/json'),
    503: NO_SECRETS,
    ...authErrors,
  },
});
export const LIST_SOURCES = createRoute({
  method: 'get',
  path: '/v1/admin/webhooks',
  summary: "The admin key's tenant's webhook sources (never a secret)",
  ...bearer('admin'),
  responses: {
    200: json(z.object({ data: z.array(WebhookSourceInfo) }), 'Every source of the tenant'),
    ...authErrors,
  },
});
export const REMOVE_SOURCE = createRoute({
  method: 'delete',
  path: '/v1/admin/webhooks/{id}',
  summary: 'Remove a webhook source: its url answers 404 within seconds',
  ...bearer('admin'),
  request: { params: sourceId },
  responses: { 204: { description: 'Removed' }, 404: NO_SUCH_SOURCE, ...authErrors },
});
export const ROTATE_SOURCE = createRoute({
  method: 'post',
  path: '/v1/admin/webhooks/{id}/rotate',
  summary: 'Make a new secret current; the old one keeps verifying for the overlap',
  ...bearer('admin'),
  request: {
    params: sourceId,
    body: { content: { 'application/json': { schema: RotateBody } }, required: true },
  },
  responses: {
    200: json(WebhookSourceInfo, 'Rotated'),
    400: errors[400],
    404: NO_SUCH_SOURCE,
    413: json(ErrorEnvelope, 'A body over 4 KB'),
    415: json(ErrorEnvelope, 'A body that is not application/json'),
    503: NO_SECRETS,
    ...authErrors,
  },
});
export const RETIRE_SOURCE = createRoute({
  method: 'post',
  path: '/v1/admin/webhooks/{id}/retire',
  summary: 'Stop the previous secret verifying now (the end of a rotation)',
  ...bearer('admin'),
  request: { params: sourceId },
  responses: {
    200: json(WebhookSourceInfo, 'Only the current secret verifies'),
    404: NO_SUCH_SOURCE,
    ...authErrors,
  },
});

/** The webhook source admin routes, behind `admin` guards. */
export function adminWebhookRoutes(
  app: OpenAPIHono<QueryEnv>,
  deps: AdminWebhooksDeps,
  admin: readonly MiddlewareHandler[],
): void {
  const sources = adminWebhookHandlers(deps);
  serveRoute(app, ADD_SOURCE, [...admin, adminBodyLimit], sources.add);
  serveRoute(app, LIST_SOURCES, admin, sources.list);
  serveRoute(app, REMOVE_SOURCE, admin, sources.remove);
  serveRoute(app, ROTATE_SOURCE, [...admin, adminBodyLimit], sources.rotate);
  serveRoute(app, RETIRE_SOURCE, admin, sources.retire);
}
