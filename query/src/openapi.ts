// The query API's OpenAPI 3.1 document, declared with @hono/zod-openapi: every route, its
// parameters and the schema of every answer, served at /openapi.json and rendered at /docs.
// Handlers validate per stream (which windows, keys and aggregates exist depends on the stream),
// so the document declares the parameters' general shape and the contract test checks that real
// answers match it.

import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { createRoute, z } from '@hono/zod-openapi';
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
  schema: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the payload (`data`)' }),
  watermark: z.string().nullable(),
  lag: z.object({
    watermark_lag_ms: z
      .number()
      .nullable()
      .openapi({ description: 'now minus the lowest partition watermark' }),
    partitions: z.array(
      z.object({
        partition: z.number().int(),
        watermark: z.string().nullable(),
        next_offset: z.number().nullable(),
      }),
    ),
  }),
}).openapi('StreamDetail');

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
const errors = {
  400: json(ErrorEnvelope, 'Invalid parameters (details name each field)'),
  404: json(ErrorEnvelope, 'Unknown stream or route'),
  503: json(
    ErrorEnvelope,
    'PostgreSQL or Redis unreachable, or a read past the statement timeout (Retry-After)',
  ),
};

export const ROUTES: RouteConfig[] = [
  createRoute({
    method: 'get',
    path: '/v1/streams',
    summary: 'Declared streams',
    responses: { 200: json(z.object({ data: z.array(StreamSummary) }), 'Every stream this service serves') },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}',
    summary: 'One stream: payload schema, windows, aggregations, watermark and lag',
    request: { params: StreamParam },
    responses: { 200: json(StreamDetail, 'The stream'), 404: errors[404] },
  }),
  createRoute({
    method: 'get',
    path: '/v1/streams/{stream}/windows',
    summary: 'Window rows, by key or rolled up, with status, version and the watermark',
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
    summary: 'Top-N keys by one aggregate over a range',
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
    summary: 'Server-Sent Events: every window update as the processors commit it',
    request: {
      params: StreamParam,
      query: z.object({
        window: z.string().optional().openapi({ description: 'Only updates of this declared window' }),
        last_event_id: z
          .string()
          .optional()
          .openapi({ description: 'Same as the Last-Event-ID header (a Redis Stream id, ms-seq)' }),
      }),
      headers: z.object({ 'last-event-id': z.string().optional() }),
    },
    responses: {
      200: {
        content: { 'text/event-stream': { schema: z.string() } },
        description:
          'event `ready` once, `gap` when updates after Last-Event-ID were trimmed, then one `windows` event per processor commit (id: the feed entry id; data: an array of {stream, window, window_start, window_end, key, values, status, version, trace_id, removed})',
      },
      429: json(ErrorEnvelope, 'Too many live clients from this address (Retry-After)'),
      ...errors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') },
  }),
  createRoute({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: PostgreSQL and Redis reachable',
    responses: { 200: json(z.object({ status: z.literal('ready') }), 'Ready'), 503: errors[503] },
  }),
];

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'sluice query API',
    version: '1.0.0',
    description:
      'Windowed aggregates of sluice streams, each row with its completeness (status, version) and the watermark. Errors share one envelope with a request id.',
  },
};

/** Declares every route in the app's OpenAPI registry (the handlers are mounted by app.ts). */
export function registerRoutes<E extends Env>(app: OpenAPIHono<E>): void {
  for (const route of ROUTES) app.openAPIRegistry.registerPath(route);
}
