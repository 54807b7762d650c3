// GET /v1/streams, /v1/streams/{stream} and /v1/streams/{stream}/health: what each stream declares
// (its payload schema, windows, aggregations), its watermark and lag, and the dashboard's health
// row. Stream-wide operational figures are an operator's only (operator-view.ts).

import type { OpenAPIHono } from '@hono/zod-openapi';
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse } from '@sluice/shared/http/error-envelope';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { valueNames } from '@sluice/shared/streams/define';
import { topicNames } from '@sluice/shared/streams/registry';
import type { MiddlewareHandler } from 'hono';
import { z as zod } from 'zod';
import type { HealthRepo } from '../health-repo.ts';
import { seesWholeStream } from '../operator-view.ts';
import { readFailure } from '../read-failure.ts';
import { streamHealth } from '../stream-health.ts';
import { streamParam } from '../stream-param.ts';
import type { QueryEnv } from './contract.ts';
import { authErrors, bearer, errors, json, OPERATOR_VIEW, StreamParam, serveRoute } from './contract.ts';
import type { WindowsRouteDeps } from './windows.ts';

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

export function describeStream(stream: StreamDefinition) {
  return {
    name: stream.name,
    description: stream.description,
    partitions: stream.partitions,
    key_by: [...stream.keyBy],
    event_time: stream.eventTime ?? null,
    windows: [...stream.windows],
    aggregations: stream.aggregations.map((a) => ({
      name: a.name,
      fn: a.fn,
      field: a.field ?? null,
      // The keys this aggregation adds to a window's `values` (a quantiles aggregation adds one per percentile).
      values: valueNames(a),
    })),
    watermark_ms: stream.watermarkMs,
    allowed_lateness_ms: stream.allowedLatenessMs,
  };
}

// A stream's payload as JSON Schema does not change while the service runs: made once per stream.
const payloadSchemas = new WeakMap<StreamDefinition, unknown>();
function payloadSchema(stream: StreamDefinition): unknown {
  let schema = payloadSchemas.get(stream);
  if (schema === undefined) {
    schema = zod.toJSONSchema(stream.schema, { io: 'input', unrepresentable: 'any' });
    payloadSchemas.set(stream, schema);
  }
  return schema;
}

/** The stream's watermark; its partitions' positions only for an operator (operator-view.ts). */
const readStream = (deps: StreamRoutesDeps, topic: string, operator: boolean) =>
  Promise.all([
    operator ? deps.repo.partitions(deps.group, topic) : null,
    deps.repo.watermark(deps.group, topic),
  ]);

export const STREAMS = createRoute({
  method: 'get',
  path: '/v1/streams',
  summary: 'Declared streams',
  ...bearer('windows:read'),
  responses: {
    200: json(z.object({ data: z.array(StreamSummary) }), 'Every stream this service serves'),
    ...authErrors,
  },
});

export const STREAM = createRoute({
  method: 'get',
  path: '/v1/streams/{stream}',
  summary: 'One stream: payload schema, windows, aggregations, watermark and lag',
  ...bearer('windows:read'),
  description: `${bearer('windows:read').description} ${OPERATOR_VIEW} (here: \`lag.partitions\`).`,
  request: { params: StreamParam },
  responses: { 200: json(StreamDetail, 'The stream'), 404: errors[404], ...authErrors },
});

export const STREAM_HEALTH = createRoute({
  method: 'get',
  path: '/v1/streams/{stream}/health',
  summary:
    "The stream's health: the key's tenant's rates and data quality; with an `admin` scope too, the stream's lag and counts",
  ...bearer('windows:read'),
  description: `${bearer('windows:read').description} ${OPERATOR_VIEW} (here: \`per_stream\`).`,
  request: { params: StreamParam },
  responses: { 200: json(StreamHealth, 'The health row (not cached)'), ...errors },
});

export type StreamRoutesDeps = WindowsRouteDeps & { readonly healthRepo: HealthRepo };

/** The stream routes behind `read` guards (a windows:read key, admitted). */
export function streamRoutes(
  app: OpenAPIHono<QueryEnv>,
  deps: StreamRoutesDeps,
  read: readonly MiddlewareHandler[],
): void {
  serveRoute(app, STREAMS, read, (c) => c.json({ data: [...deps.streams.values()].map(describeStream) }));
  serveRoute(app, STREAM, read, async (c) => {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { stream } = found;
    const topic = topicNames(stream.name, deps.topicPrefix).events;
    let read: Awaited<ReturnType<typeof readStream>>;
    try {
      read = await readStream(deps, topic, seesWholeStream(c.var.principal));
    } catch (error) {
      const failure = readFailure(error);
      if (failure === undefined) throw error;
      return errorResponse(c, failure);
    }
    const [partitions, watermark] = read;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return c.json({
      ...describeStream(stream),
      // The key's tenant: what the stream's windows, top and live routes read for this key. The
      // watermark and its lag are the stream's progress, shared by every tenant (no tenant's data);
      // the partitions' next offsets add up every tenant's volume: an operator's only, else null.
      tenant: c.var.principal.tenant,
      schema: payloadSchema(stream),
      watermark: iso(watermark),
      lag: {
        watermark_lag_ms: watermark === null ? null : deps.now() - watermark,
        partitions:
          partitions?.map((p) => ({
            partition: p.partition,
            watermark: iso(p.watermark),
            next_offset: p.nextOffset,
          })) ?? null,
      },
    });
  });
  const healthDeps = { ...deps, watermarkOf: deps.repo.watermark };
  // The dashboard's health row: per-tenant figures from the key's tenant's windows, the stream's
  // operational ones for an operator's key only (stream-health.ts). Never cached: a few rows per read.
  serveRoute(app, STREAM_HEALTH, read, async (c) => {
    const found = streamParam(c, deps.streams);
    if ('response' in found) return found.response;
    const { principal } = c.var;
    try {
      const body = await streamHealth(healthDeps, found.stream, principal.tenant, seesWholeStream(principal));
      return c.json(body, 200, { 'cache-control': 'no-store' });
    } catch (error) {
      const failure = readFailure(error);
      if (failure === undefined) throw error;
      return errorResponse(c, failure);
    }
  });
}
