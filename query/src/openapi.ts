// The query API's OpenAPI 3.1 document, declared with @hono/zod-openapi: every route, its
// parameters and the schema of every answer, served at /openapi.json and rendered at /docs.
// Handlers validate per stream (which windows, keys and aggregates exist depends on the stream),
// so the document declares the parameters' general shape and the contract test checks that real
// answers match it. Every operation but the document itself, /docs and the dashboard's files
// declares the bearer scheme (an API key, issue 21) with its 401, 403 and 429 answers.

import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { createRoute, z } from '@hono/zod-openapi';
import { PROVIDERS } from '@sluice/shared/webhooks/source';
import type { Env } from 'hono';
import { MAX_LIMIT } from './windows-params.ts';

const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.enum([
        'bad_request',
        'validation_failed',
        'unauthorized',
        'forbidden',
        'not_found',
        'payload_too_large',
        'unsupported_media_type',
        'rate_limited',
        'unavailable',
        'internal',
      ]),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('ErrorEnvelope');

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

const NewKey = z
  .object({
    scopes: z
      .array(z.enum(['events:write', 'windows:read', 'admin']))
      .min(1)
      .openapi({ description: 'What the key may do (events:relay is for an operator to grant)' }),
    name: z.string().min(1).max(200).optional(),
    eventsPerSecond: z.number().int().positive().optional(),
    requestsPerSecond: z.number().int().positive().optional(),
    expiresAt: z.string().optional().openapi({ description: 'RFC 3339, in the future' }),
  })
  .openapi('NewKey', { description: "The new key's tenant is the admin key's own" });

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

const NewWebhookSource = z
  .object({
    provider: z.enum(PROVIDERS),
    secret: z.string().min(1).max(512).openapi({
      description:
        "The provider's signing secret (Standard Webhooks: whsec_<base64>); sealed at rest, never shown again",
    }),
    stream: z
      .string()
      .optional()
      .openapi({ description: 'Default `webhooks`; another stream needs options.mapping' }),
    name: z.string().min(1).max(200).optional(),
    options: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        'toleranceSeconds (default 300); hmac {header, algorithm, encoding, prefix, timestampHeader, idHeader, typeHeader, signedContent} for provider hmac; mapping {field: JSON pointer into {provider, type, account, delivery_id, payload}}',
    }),
  })
  .openapi('NewWebhookSource', { description: "The source's tenant is the admin key's own" });

const RotateWebhookSecret = z
  .object({
    secret: z.string().min(1).max(512),
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: 'How long the old secret keeps verifying (default 86400)' }),
  })
  .openapi('RotateWebhookSecret');

const sourceId = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'wh_abcdefghijklmnopqrstuvwxyz' }),
});

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

const Status = z.enum(['provisional', 'settled', 'amended']).openapi('WindowStatus', {
  description:
    'provisional: the watermark has not passed the window end yet; settled: final; amended: changed by late events after it settled (version > 1)',
});
const Values = z.record(z.string(), z.number().nullable()).openapi('Values');

const Window = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tumbling'), name: z.string(), sizeMs: z.number() }),
  z.object({ kind: z.literal('hopping'), name: z.string(), sizeMs: z.number(), slideMs: z.number() }),
  z.object({ kind: z.literal('session'), name: z.string(), gapMs: z.number() }),
]);

const StreamSummary = z
  .object({
    name: z.string(),
    description: z.string(),
    partitions: z.number().int(),
    key_by: z.array(z.string()),
    event_time: z.string().nullable(),
    windows: z.array(Window),
    aggregations: z.array(
      z.object({
        name: z.string(),
        fn: z.string(),
        field: z.string().nullable(),
        values: z.array(z.string()),
      }),
    ),
    watermark_ms: z.number(),
    allowed_lateness_ms: z.number(),
  })
  .openapi('Stream');

const StreamDetail = StreamSummary.extend({
  tenant: z.string().openapi({
    description:
      "The key's tenant: whose windows the stream's routes read (the watermark and its lag are the processors', shared)",
  }),
  schema: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the payload (`data`)' }),
  watermark: z.string().nullable(),
  lag: z.object({
    watermark_lag_ms: z
      .number()
      .nullable()
      .openapi({ description: 'now minus the lowest partition watermark' }),
    partitions: z
      .array(
        z.object({
          partition: z.number().int(),
          watermark: z.string().nullable(),
          next_offset: z.number().nullable(),
        }),
      )
      .nullable()
      .openapi({
        description:
          "Each partition's watermark and next offset: an operator's view (a key that also holds `admin`), null for any other key (offsets add up every tenant's volume)",
      }),
  }),
}).openapi('StreamDetail');

const rate = (what: string) => z.number().nullable().openapi({ description: what });
const StreamHealth = z
  .object({
    stream: z.string(),
    tenant: z.string().openapi({ description: "The key's tenant: whose windows `per_tenant` reads" }),
    as_of: z.string(),
    per_tenant: z
      .object({
        window: z
          .string()
          .nullable()
          .openapi({ description: 'The tumbling window read (null: the stream has none, or no count)' }),
        since: z.string().nullable().openapi({ description: 'The first window start read (event time)' }),
        events: z
          .number()
          .nullable()
          .openapi({ description: "Events in the tenant's windows since `since`" }),
        events_per_second: rate('`events` over the time from `since` to now (by event time)'),
        rejected: z
          .number()
          .nullable()
          .openapi({ description: 'Events that broke a data-quality rule (null: the stream has no rules)' }),
        quality_score: rate(
          'Share of the judged events that passed the rules (null: no rules, or no events)',
        ),
      })
      .openapi({ description: "From the key's tenant's own windows only" }),
    per_stream: z
      .object({
        partitions: z.number().int(),
        partitions_reporting: z.number().int().openapi({
          description: 'Partitions whose owner reported in the last 15 s (the others are stale)',
        }),
        events_in_per_second: rate('Records appended to the topic per second (reporting partitions)'),
        events_processed_per_second: rate(
          'Records the processors committed per second (reporting partitions)',
        ),
        consumer_lag: z
          .number()
          .nullable()
          .openapi({ description: 'Records in the topic not yet committed (log end minus next offset)' }),
        watermark: z.string().nullable(),
        watermark_lag_ms: z
          .number()
          .nullable()
          .openapi({ description: 'now minus the lowest partition watermark' }),
        processed: z.number().openapi({ description: 'Records aggregated, since the health table began' }),
        late: z.number().openapi({ description: 'Records past the allowed lateness (to the late topic)' }),
        dlq: z.number().openapi({ description: 'Records dead-lettered' }),
        rejected: z.number().openapi({ description: 'Records that broke a data-quality rule' }),
        updated_at: z.string().nullable().openapi({ description: "The latest partition report's time" }),
      })
      .nullable()
      .openapi({
        description:
          "Operational figures of the whole stream (every tenant's records share its topic): an operator's view, given to a key that also holds `admin` (as /metrics is), null for any other key",
      }),
  })
  .openapi('StreamHealth');

const WindowRow = z
  .object({
    window_start: z.string(),
    window_end: z.string(),
    key: z.string().nullable(),
    keys: z.record(z.string(), z.string()),
    values: Values,
    status: Status,
    version: z.number().int(),
    trace_id: z.string().nullable(),
  })
  .openapi('WindowRow');

const WindowsResponse = z
  .object({ data: z.array(WindowRow), watermark: z.string().nullable(), next_cursor: z.string().nullable() })
  .openapi('WindowsResponse');

const TopResponse = z
  .object({
    data: z.array(
      z.object({
        key: z.string(),
        keys: z.record(z.string(), z.string()),
        value: z.number().nullable(),
        values: Values,
      }),
    ),
    agg: z.string(),
    window: z.string(),
    from: z.string(),
    to: z.string(),
    watermark: z.string().nullable(),
    complete: z.boolean(),
  })
  .openapi('TopResponse');

const StreamParam = z.object({
  stream: z.string().openapi({ param: { name: 'stream', in: 'path' }, example: 'ecommerce' }),
});
const instant = (what: string) =>
  z
    .string()
    .optional()
    .openapi({
      description: `${what}: RFC 3339 (years 0001 to 9999), epoch ms, or relative like -15m or now`,
    });

const json = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
/** The bearer scheme's name in components.securitySchemes. */
export const BEARER = 'apiKey';
const bearer = (scope: string) => ({
  security: [{ [BEARER]: [] }],
  description: `Needs an API key with the \`${scope}\` scope (Authorization: Bearer slk_...).`,
});
/** Why some stream-wide figures are null for most keys (query/src/operator-view.ts). */
const OPERATOR_VIEW =
  "A stream's operational figures add up every tenant's volume: they are given only to a key that also holds the `admin` scope, and are null for any other key";
const authErrors = {
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
const errors = {
  ...authErrors,
  400: json(ErrorEnvelope, 'Invalid parameters (details name each field)'),
  404: json(ErrorEnvelope, 'Unknown stream or route'),
  503: json(
    ErrorEnvelope,
    'PostgreSQL or Redis unreachable, or a read past the statement timeout (Retry-After)',
  ),
};

/** Ops endpoints: open with SLUICE_OPS_OPEN (a probe on a private network), else an admin key. */
const anonymous: Record<string, string[]> = {};
const ops = {
  security: [{ [BEARER]: [] }, anonymous],
  description: 'Needs an `admin` key, unless the service runs with SLUICE_OPS_OPEN=true.',
};

export const ROUTES: RouteConfig[] = [
  createRoute({
    method: 'get',
    path: '/v1/streams',
    summary: 'Declared streams',
    ...bearer('windows:read'),
    responses: {
      200: json(z.object({ data: z.array(StreamSummary) }), 'Every stream this service serves'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}',
    summary: 'One stream: payload schema, windows, aggregations, watermark and lag',
    ...bearer('windows:read'),
    description: `${bearer('windows:read').description} ${OPERATOR_VIEW} (here: \`lag.partitions\`).`,
    request: { params: StreamParam },
    responses: { 200: json(StreamDetail, 'The stream'), 404: errors[404], ...authErrors },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}/health',
    summary:
      "The stream's health: the key's tenant's rates and data quality; with an `admin` scope too, the stream's lag and counts",
    ...bearer('windows:read'),
    description: `${bearer('windows:read').description} ${OPERATOR_VIEW} (here: \`per_stream\`).`,
    request: { params: StreamParam },
    responses: { 200: json(StreamHealth, 'The health row (not cached)'), ...errors },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}/windows',
    summary: "Window rows of the key's tenant, by key or rolled up, with status, version and the watermark",
    ...bearer('windows:read'),
    request: {
      params: StreamParam,
      query: z.object({
        window: z.string().optional().openapi({
          description:
            'A declared window (1m, 5m/1m, session:10m), or a roll-up size up to 366d that is a multiple of a declared tumbling window (5m, 1h, 1d). Default: the first declared window',
        }),
        from: instant('Start of the range (window starts at or after it); default an hour before to'),
        to: instant('End of the range (window starts before it); default now'),
        group_by: z.string().optional().openapi({
          description: "Key fields, comma-separated, or 'none' to roll every key up. Default: the whole key",
        }),
        filter: z.array(z.string()).optional().openapi({
          description:
            'key=value, repeatable up to 100 times (the same key repeated keeps any of its values); a value is 1,024 characters at most',
        }),
        aggs: z
          .string()
          .optional()
          .openapi({ description: 'Aggregations to return, comma-separated; default all' }),
        tz: z
          .string()
          .optional()
          .openapi({ description: 'IANA zone: roll-ups of whole days start at local midnight' }),
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(MAX_LIMIT)
          .optional()
          .openapi({ description: 'Rows per page (default 1000)' }),
        cursor: z.string().optional().openapi({ description: 'next_cursor of the previous page' }),
      }),
      headers: z.object({ 'if-none-match': z.string().optional() }),
    },
    responses: {
      200: json(WindowsResponse, 'A page of rows (ETag, X-Watermark and X-Cache headers)'),
      304: { description: 'Unchanged since the ETag given in If-None-Match' },
      ...errors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}/top',
    summary: "Top-N keys of the key's tenant by one aggregate over a range",
    ...bearer('windows:read'),
    request: {
      params: StreamParam,
      query: z.object({
        agg: z.string().optional().openapi({ description: 'A value name such as count or sum_amount' }),
        by: z
          .string()
          .optional()
          .openapi({ description: 'Key fields, comma-separated; default the whole key' }),
        from: instant('Start of the range (at most 100,000 of the finest tumbling windows before to)'),
        to: instant('End of the range'),
        n: z.coerce
          .number()
          .int()
          .min(1)
          .max(100)
          .optional()
          .openapi({ description: 'How many (default 10)' }),
      }),
    },
    responses: {
      200: json(TopResponse, 'Keys ranked by the aggregate, highest first'),
      304: { description: 'Unchanged since the ETag given in If-None-Match' },
      ...errors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}/live',
    summary: "Server-Sent Events: every window update of the key's tenant as the processors commit it",
    ...bearer('windows:read'),
    request: {
      params: StreamParam,
      query: z.object({
        window: z.string().optional().openapi({ description: 'Only updates of this declared window' }),
        last_event_id: z
          .string()
          .optional()
          .openapi({ description: 'Same as the Last-Event-ID header (a Redis Stream id, ms-seq)' }),
        health: z.enum(['on', 'off']).optional().openapi({
          description:
            'on: a `health` event (data: a StreamHealth, its `per_stream` null unless the key also holds `admin`) first and every 5 s after (a snapshot shared by every connection of the tenant, at most 5 s old)',
        }),
      }),
      headers: z.object({ 'last-event-id': z.string().optional() }),
    },
    responses: {
      200: {
        content: { 'text/event-stream': { schema: z.string() } },
        description:
          'event `ready` once, `gap` when updates after Last-Event-ID were trimmed, then one `windows` event per processor commit (id: the feed entry id; data: an array of {stream, window, window_start, window_end, key, values, status, version, trace_id, removed}); with health=on, `health` events (no id; data: a StreamHealth)',
      },
      ...errors,
      429: json(
        ErrorEnvelope,
        "Too many live clients of this key (of this address with auth off), or the key's requests per second used up (Retry-After)",
      ),
    },
  }),
  createRoute({
    method: 'post',
    path: '/v1/admin/keys',
    summary: "Create a key of the admin key's own tenant; the key is in this answer only",
    ...bearer('admin'),
    request: { body: { content: { 'application/json': { schema: NewKey } }, required: true } },
    responses: {
      201: json(CreatedKey, 'The new key (usable within a second on every service)'),
      400: errors[400],
      413: json(ErrorEnvelope, 'A body over 4 KB'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/admin/keys',
    summary: "The admin key's tenant's keys (never a key or its hash)",
    ...bearer('admin'),
    responses: { 200: json(z.object({ data: z.array(KeyInfo) }), 'Every key of the tenant'), ...authErrors },
  }),
  createRoute({
    method: 'delete',
    path: '/v1/admin/keys/{id}',
    summary: 'Revoke a key of the tenant: refused (401) on every service within 5 s',
    ...bearer('admin'),
    request: {
      params: z.object({
        id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'abcdefgh234567ab' }),
      }),
    },
    responses: {
      204: { description: 'Revoked (again is not an error)' },
      404: json(ErrorEnvelope, 'No such key in this tenant'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'post',
    path: '/v1/admin/webhooks',
    summary: "Declare a webhook source of the admin key's tenant (the secret is sealed, never shown again)",
    ...bearer('admin'),
    request: { body: { content: { 'application/json': { schema: NewWebhookSource } }, required: true } },
    responses: {
      201: json(WebhookSourceInfo, 'The new source; providers post to its url within a second'),
      400: errors[400],
      413: json(ErrorEnvelope, 'A body over 4 KB'),
      503: json(ErrorEnvelope, 'SLUICE_SECRETS_KEY is not set on the query service, or PostgreSQL is away'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/admin/webhooks',
    summary: "The admin key's tenant's webhook sources (never a secret)",
    ...bearer('admin'),
    responses: {
      200: json(z.object({ data: z.array(WebhookSourceInfo) }), 'Every source of the tenant'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'delete',
    path: '/v1/admin/webhooks/{id}',
    summary: 'Remove a webhook source: its url answers 404 within seconds',
    ...bearer('admin'),
    request: { params: sourceId },
    responses: {
      204: { description: 'Removed' },
      404: json(ErrorEnvelope, 'No such live source in this tenant'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'post',
    path: '/v1/admin/webhooks/{id}/rotate',
    summary: 'Make a new secret current; the old one keeps verifying for the overlap',
    ...bearer('admin'),
    request: {
      params: sourceId,
      body: { content: { 'application/json': { schema: RotateWebhookSecret } }, required: true },
    },
    responses: {
      200: json(WebhookSourceInfo, 'Rotated'),
      400: errors[400],
      404: json(ErrorEnvelope, 'No such live source in this tenant'),
      413: json(ErrorEnvelope, 'A body over 4 KB'),
      503: json(ErrorEnvelope, 'SLUICE_SECRETS_KEY is not set on the query service, or PostgreSQL is away'),
      ...authErrors,
    },
  }),
  createRoute({
    method: 'post',
    path: '/v1/admin/webhooks/{id}/retire',
    summary: 'Stop the previous secret verifying now (the end of a rotation)',
    ...bearer('admin'),
    request: { params: sourceId },
    responses: {
      200: json(WebhookSourceInfo, 'Only the current secret verifies'),
      404: json(ErrorEnvelope, 'No such live source in this tenant'),
      ...authErrors,
    },
  }),
  createRoute({
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
  }),
  createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    ...ops,
    responses: {
      200: json(z.object({ status: z.literal('ok') }), 'Alive'),
      401: authErrors[401],
      403: authErrors[403],
    },
  }),
  createRoute({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: PostgreSQL and Redis reachable',
    ...ops,
    responses: {
      200: json(z.object({ status: z.literal('ready') }), 'Ready'),
      401: authErrors[401],
      403: authErrors[403],
      503: errors[503],
    },
  }),
  createRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    ...ops,
    responses: {
      200: { content: { 'text/plain': { schema: z.string() } }, description: 'Prometheus text format' },
      401: authErrors[401],
      403: authErrors[403],
    },
  }),
];

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'sluice query API',
    version: '1.0.0',
    description:
      "Windowed aggregates of sluice streams, each row with its completeness (status, version) and the watermark. Errors share one envelope with a request id. Every call but this document, /docs and the dashboard's files needs an API key (Authorization: Bearer slk_...), and reads the key's tenant only; create one with `./sluice keys create --tenant T --scopes windows:read` or POST /v1/admin/keys.",
  },
};

/** Declares every route in the app's OpenAPI registry (the handlers are mounted by app.ts). */
export function registerRoutes<E extends Env>(app: OpenAPIHono<E>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER, {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (slk_<id>_<secret>), bound to one tenant, with scopes events:write, windows:read, admin. Auth off (SLUICE_AUTH=off): no key, every caller the tenant "default".',
  });
  for (const route of ROUTES) app.openAPIRegistry.registerPath(route);
}
