// A stream is declared, not coded: one file names its topic, payload schema, event time, keys,
// windows, aggregations, watermark and lateness. Everything downstream reads these definitions.

import type { z } from 'zod';
import type { EventTimePolicy, TimeFormat } from '../events/event-time.ts';
import { assertTimeZone, DEFAULT_EVENT_TIME_POLICY } from '../events/event-time.ts';
import type { Duration } from './duration.ts';
import { durationMs } from './duration.ts';

export type WindowSpec =
  | { readonly kind: 'tumbling'; readonly name: string; readonly sizeMs: number }
  | { readonly kind: 'hopping'; readonly name: string; readonly sizeMs: number; readonly slideMs: number }
  | { readonly kind: 'session'; readonly name: string; readonly gapMs: number };

export const tumbling = (size: Duration): WindowSpec => ({
  kind: 'tumbling',
  name: size,
  sizeMs: durationMs(size),
});

/** Windows of `size` starting every `slide` (Flink's sliding, Kafka Streams' hopping windows). */
export const hopping = (size: Duration, slide: Duration): WindowSpec => {
  const sizeMs = durationMs(size);
  const slideMs = durationMs(slide);
  if (sizeMs % slideMs !== 0) throw new Error(`hopping(${size}, ${slide}): size must be a multiple of slide`);
  return { kind: 'hopping', name: `${size}/${slide}`, sizeMs, slideMs };
};

/** Per-key sessions that close after `gap` without events; sessions merge when an event bridges them. */
export const session = (gap: Duration): WindowSpec => ({
  kind: 'session',
  name: `session:${gap}`,
  gapMs: durationMs(gap),
});

export type AggFn = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'distinct' | 'quantiles' | 'quality';

export interface AggSpec {
  readonly fn: AggFn;
  /** Name of the value in window rows and API responses, e.g. `sum_amount`. */
  readonly name: string;
  /** Payload field the aggregate reads; absent for `count`. */
  readonly field?: string;
  /**
   * Decimal places the field carries (money: 2). Sums and averages of a scaled field are computed
   * on integers of 10^-scale units, so they are exact and independent of arrival order.
   */
  readonly scale?: number;
  /** For `quantiles`: the percentiles shown, each as a value `p<N>_<field>`. */
  readonly percentiles?: readonly number[];
  /** For `quality` (added by defineStream when a stream declares rules): the rule names. */
  readonly rules?: readonly string[];
}

/**
 * A business rule an event must pass to count (for example a non-negative quantity). An event that
 * breaks one is counted in its windows as rejected by that rule, not aggregated, and goes to
 * `<stream>.dlq`. A method signature, so a rule over one stream's payload type is a rule.
 */
export interface QualityRule<T = Record<string, unknown>> {
  readonly name: string;
  check(data: T): boolean;
}

/**
 * Makes one plausible payload of a stream, for load tests (`./sluice load`): `random` is seeded,
 * so a pool is reproducible; `now` is the event time to write; `index` numbers the samples.
 */
export type SampleGenerator<T = unknown> = (random: () => number, now: number, index: number) => T;

export const rule = <T>(name: string, check: (data: T) => boolean): QualityRule<T> => ({ name, check });

export const count = (name = 'count'): AggSpec => ({ fn: 'count', name });
export const sum = (field: string, options: { scale?: number; name?: string } = {}): AggSpec => ({
  fn: 'sum',
  field,
  name: options.name ?? `sum_${field}`,
  ...(options.scale === undefined ? {} : { scale: options.scale }),
});
export const min = (field: string, name = `min_${field}`): AggSpec => ({ fn: 'min', field, name });
export const max = (field: string, name = `max_${field}`): AggSpec => ({ fn: 'max', field, name });
export const avg = (field: string, options: { scale?: number; name?: string } = {}): AggSpec => ({
  fn: 'avg',
  field,
  name: options.name ?? `avg_${field}`,
  ...(options.scale === undefined ? {} : { scale: options.scale }),
});

/** Approximate distinct count of a field's values (HyperLogLog, ~1.6% standard error). */
export const distinct = (field: string, name = `distinct_${field}`): AggSpec => ({
  fn: 'distinct',
  field,
  name,
});
/**
 * Approximate percentiles of a numeric field (DDSketch, within 1% of the true value), shown as
 * `p50_<field>`, `p95_<field>`, ...; rounded to the field's `scale` when it has one.
 */
export const quantiles = (
  field: string,
  options: { percentiles?: readonly number[]; scale?: number; name?: string } = {},
): AggSpec => ({
  fn: 'quantiles',
  field,
  name: options.name ?? `quantiles_${field}`,
  percentiles: options.percentiles ?? [50, 95, 99],
  ...(options.scale === undefined ? {} : { scale: options.scale }),
});

/** The names an aggregation contributes to a row's `values`. */
export function valueNames(agg: AggSpec): string[] {
  if (agg.fn === 'quality')
    return ['quality_score', 'rejected', ...(agg.rules ?? []).map((r) => `rejected_${r}`)];
  if (agg.fn !== 'quantiles') return [agg.name];
  return (agg.percentiles ?? []).map((p) => `p${p}_${agg.field ?? agg.name}`);
}

export interface StreamInput<S extends z.ZodType<Record<string, unknown>>> {
  readonly name: string;
  readonly description: string;
  readonly partitions: number;
  readonly schema: S;
  /** Payload field holding event time (RFC 3339 or epoch ms); absent: envelope time, else receive time. */
  readonly eventTime?: keyof z.output<S> & string;
  /** How the event-time field may be written (default RFC 3339 with an offset, or epoch ms). */
  readonly timeFormats?: readonly TimeFormat[];
  /** The IANA zone of event times written without one (`naive` format; default UTC). */
  readonly naiveTimeZone?: string;
  /**
   * How far past its receive time an event time may lie (default 1h, as Kafka's
   * `log.message.timestamp.after.max.ms`); beyond, intake refuses the event and the processor
   * dead-letters it, so no client clock can move the watermark into the future.
   */
  readonly maxFutureSkew?: Duration;
  /** The earliest event time accepted, RFC 3339 (default 1970-01-01T00:00:00Z). */
  readonly earliestEventTime?: string;
  /** Payload field used as the event id when the envelope carries none, so client retries dedupe. */
  readonly idField?: keyof z.output<S> & string;
  /**
   * Group-by key fields; their values, joined, are the Kafka key and the window row key. None: one
   * group for the whole stream (Flink's windowAll, a constant key in Kafka Streams), so all its
   * events share one partition and one worker aggregates them.
   */
  readonly keyBy: readonly (keyof z.output<S> & string)[];
  readonly windows: readonly WindowSpec[];
  readonly aggregations: readonly AggSpec[];
  /** Maximum out-of-orderness: the watermark trails the highest event time seen by this much. */
  readonly watermark: Duration;
  /** How long after the watermark passes a window's end an event may still amend it. */
  readonly allowedLateness: Duration;
  readonly dedupHorizon?: Duration;
  /** How long the stream's Kafka topics keep records (retention.ms); 7d unless declared. */
  readonly retention?: Duration;
  /**
   * How long the stream's windows stay in PostgreSQL, by window start; kept for good unless
   * declared (as a PostgreSQL table keeps its rows). It must outlast the allowed lateness, so an
   * amendment never lands in a window already dropped.
   */
  readonly windowRetention?: Duration;
  /**
   * Business rules checked by the processor. A stream with rules gets a data-quality score per
   * window: `quality_score` (share of its events that passed), `rejected` and `rejected_<rule>`.
   */
  readonly rules?: readonly QualityRule<z.output<S>>[];
  /**
   * Events only from verified webhook deliveries (POST /v1/webhooks/{id}); POST /v1/events refuses
   * the stream, so a write key cannot pass off an unsigned event as a provider's delivery.
   */
  readonly signedOnly?: boolean;
  /**
   * Realistic payloads for load tests; absent, `./sluice load` derives them from `schema`. Every
   * sample must parse with `schema` (the load tool checks), so a load measures accepted events.
   */
  readonly sample?: SampleGenerator<z.input<S>>;
}

export interface StreamDefinition<
  S extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>,
> {
  readonly name: string;
  readonly description: string;
  readonly partitions: number;
  readonly schema: S;
  readonly eventTime: string | undefined;
  /** The formats, zone and range of event times (intake and the processor both apply it). */
  readonly eventTimePolicy: EventTimePolicy;
  readonly idField: string | undefined;
  readonly keyBy: readonly string[];
  readonly windows: readonly WindowSpec[];
  readonly aggregations: readonly AggSpec[];
  readonly watermarkMs: number;
  readonly allowedLatenessMs: number;
  readonly dedupHorizonMs: number;
  readonly retentionMs: number;
  /** Null: the windows are kept for good. */
  readonly windowRetentionMs: number | null;
  readonly rules: readonly QualityRule[];
  readonly signedOnly: boolean;
  readonly sample: SampleGenerator<z.input<S>> | undefined;
}

const STREAM_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export function defineStream<S extends z.ZodType<Record<string, unknown>>>(
  input: StreamInput<S>,
): StreamDefinition<S> {
  if (!STREAM_NAME.test(input.name)) throw new Error(`stream name '${input.name}' must match ${STREAM_NAME}`);
  if (input.windows.length === 0) throw new Error(`stream '${input.name}' declares no window`);
  const rules = input.rules ?? [];
  const allowedLatenessMs = durationMs(input.allowedLateness);
  const windowRetentionMs = input.windowRetention === undefined ? null : durationMs(input.windowRetention);
  if (windowRetentionMs !== null && windowRetentionMs <= allowedLatenessMs)
    throw new Error(
      `stream '${input.name}': windowRetention must be longer than allowedLateness (an amendment would land in a dropped window)`,
    );
  const aggregations: AggSpec[] = [...input.aggregations];
  if (rules.length > 0)
    aggregations.push({ fn: 'quality', name: 'quality', rules: rules.map((r) => r.name) });
  const names = aggregations.flatMap((a) => [
    a.name,
    ...(a.fn === 'quantiles' || a.fn === 'quality' ? valueNames(a) : []),
  ]);
  if (new Set(names).size !== names.length)
    throw new Error(`stream '${input.name}' has duplicate aggregation names`);
  return {
    name: input.name,
    description: input.description,
    partitions: input.partitions,
    schema: input.schema,
    eventTime: input.eventTime,
    eventTimePolicy: eventTimePolicy(input),
    idField: input.idField,
    keyBy: input.keyBy,
    windows: input.windows,
    aggregations,
    watermarkMs: durationMs(input.watermark),
    allowedLatenessMs,
    dedupHorizonMs: durationMs(input.dedupHorizon ?? '24h'),
    retentionMs: durationMs(input.retention ?? '7d'),
    windowRetentionMs,
    rules,
    signedOnly: input.signedOnly ?? false,
    sample: input.sample,
  };
}

function eventTimePolicy(input: StreamInput<z.ZodType<Record<string, unknown>>>): EventTimePolicy {
  const naiveTimeZone = input.naiveTimeZone ?? DEFAULT_EVENT_TIME_POLICY.naiveTimeZone;
  assertTimeZone(naiveTimeZone);
  const earliestMs =
    input.earliestEventTime === undefined
      ? DEFAULT_EVENT_TIME_POLICY.earliestMs
      : Date.parse(input.earliestEventTime);
  if (!Number.isFinite(earliestMs))
    throw new Error(`stream '${input.name}': earliestEventTime '${input.earliestEventTime}' is not RFC 3339`);
  return {
    formats: input.timeFormats ?? DEFAULT_EVENT_TIME_POLICY.formats,
    naiveTimeZone,
    maxFutureSkewMs:
      input.maxFutureSkew === undefined
        ? DEFAULT_EVENT_TIME_POLICY.maxFutureSkewMs
        : durationMs(input.maxFutureSkew),
    earliestMs,
  };
}
