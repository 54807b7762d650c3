// The bounded pool of sample payloads a k6 run sends (k6 runs JavaScript in goja and cannot import
// the TypeScript stream definitions): from the generator the stream declares, else derived from its
// payload schema. Every payload is checked with the stream's own schema here, so a load measures
// events the stream accepts. k6 gives each sent copy a fresh id and an event time near now.

import type { Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { seededRandom } from '@sluice/shared/streams/samples/ecommerce';
import { schemaSamples } from './schema-sample.ts';

/** Enough distinct payloads that batches vary; small enough that each k6 VU holds it cheaply. */
export const POOL_SIZE = 500;

export interface SamplePool {
  readonly source: 'generator' | 'schema';
  readonly events: readonly Record<string, unknown>[];
  /** The payload field that carries the event id, when the stream names one. */
  readonly idField: string | null;
  /** The payload field that carries event time; null: the envelope's `time`. */
  readonly eventTime: string | null;
  /** How k6 writes event time into `eventTime`: RFC 3339 when the stream takes it, else epoch ms. */
  readonly timeFormat: 'rfc3339' | 'epoch_ms';
}

export function samplePool(stream: StreamDefinition, seed: number, now = Date.now()): Result<SamplePool> {
  if (stream.signedOnly)
    return fail(
      appError(
        'bad_request',
        `stream '${stream.name}' takes only signed webhook deliveries, not POST /v1/events`,
      ),
    );
  const formats = stream.eventTimePolicy.formats;
  const timeFormat = formats.includes('rfc3339')
    ? 'rfc3339'
    : formats.includes('epoch_ms')
      ? 'epoch_ms'
      : null;
  if (stream.eventTime !== undefined && timeFormat === null)
    return fail(
      appError('bad_request', `stream '${stream.name}' takes only naive event times; k6 writes UTC ones`),
    );
  const random = seededRandom(seed);
  const generated =
    stream.sample === undefined
      ? schemaSamples(stream.schema, POOL_SIZE, random, now)
      : declared(stream, random, now);
  if (!generated.ok) return generated;
  const events: Record<string, unknown>[] = [];
  for (const value of generated.value) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return fail(appError('bad_request', `stream '${stream.name}': a sample payload is not a JSON object`));
    // Rule breakers would be accepted and then counted as rejected in their windows: the load
    // would measure the DLQ path and lower the quality score instead of the stream's promise.
    const parsed = stream.schema.safeParse(value);
    const broken = parsed.success ? stream.rules.find((r) => !r.check(parsed.data)) : undefined;
    if (broken !== undefined)
      return fail(
        appError('bad_request', `stream '${stream.name}': a sample payload breaks rule '${broken.name}'`, {
          details: { sample: value },
        }),
      );
    events.push(value as Record<string, unknown>);
  }
  return ok({
    source: stream.sample === undefined ? 'schema' : 'generator',
    events,
    idField: stream.idField ?? null,
    eventTime: stream.eventTime ?? null,
    timeFormat: timeFormat ?? 'rfc3339',
  });
}

/** The stream's own generator, held to its schema like the derived one. */
function declared(stream: StreamDefinition, random: () => number, now: number): Result<unknown[]> {
  const samples: unknown[] = [];
  for (let index = 0; index < POOL_SIZE; index += 1) {
    const value = stream.sample?.(random, now, index);
    const parsed = stream.schema.safeParse(value);
    if (!parsed.success)
      return fail(
        appError(
          'bad_request',
          `stream '${stream.name}': its sample generator made a payload its schema refuses`,
          {
            details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
          },
        ),
      );
    samples.push(value);
  }
  return ok(samples);
}
