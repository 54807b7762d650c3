// Intake's compiled check: one Ajv pass over an event's envelope and its stream's payload, standing
// in for zod's two passes (the envelope, then `data`) in ingest and the edge. zod was ~9 % of
// ingest's CPU under the e2e load (issue 27). Web APIs and Ajv only: the edge runs this on Deno
// and Bun.
//
// INVARIANT (exact-check.ts): the check accepts only what zod accepts, and for what it accepts
// zod's output is the value as sent, so the event written to Kafka is the same either way. Keys a
// payload object does not name are refused by the check (zod drops them, so the value would not
// be zod's output): such an event, a CloudEvent and every event the check refuses go through zod,
// which judges and words the errors exactly as before.

import type { StreamDefinition } from '../streams/define.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import type { EnvelopeInput } from './envelope.ts';
import { envelopeSchema, isCloudEvent } from './envelope.ts';
import { compileExactCheck } from './exact-check.ts';

/** An envelope whose `data` its stream's payload schema accepted as it is. */
export type CheckedEnvelope = EnvelopeInput & { readonly data: Record<string, unknown> };
type EnvelopeCheck = (json: unknown) => json is CheckedEnvelope;

// Per stream definition, built on first use and kept while the definition lives; null where zod
// alone can judge its payload.
const compiled = new WeakMap<StreamDefinition, EnvelopeCheck | null>();

function checkFor(stream: StreamDefinition): EnvelopeCheck | null {
  let check = compiled.get(stream);
  if (check === undefined) {
    check = compileExactCheck<CheckedEnvelope>(envelopeSchema.extend({ data: stream.schema }), 'refused');
    compiled.set(stream, check);
  }
  return check;
}

/** Whether `stream` has a compiled intake check (every declared stream should: a unit test says). */
export const hasIntakeCheck = (stream: StreamDefinition): boolean => checkFor(stream) !== null;

/**
 * The envelope of `value` and its stream when the compiled check accepts it whole (envelope and
 * payload), else undefined: the caller then judges it with zod.
 */
export function checkedEnvelope(
  value: unknown,
  registry: StreamRegistry,
): { readonly envelope: CheckedEnvelope; readonly stream: StreamDefinition } | undefined {
  if (typeof value !== 'object' || value === null || isCloudEvent(value) || !('stream' in value)) return;
  const name = value.stream;
  if (typeof name !== 'string') return;
  const stream = registry.get(name);
  if (stream === undefined) return;
  const check = checkFor(stream);
  if (check?.(value)) return { envelope: value, stream };
  return;
}
