// A compiled check of the Kafka record value (the envelope and the stream's payload) that stands in
// for zod's pass on the processor's hot path: zod costs ~1.6 µs per ecommerce event and copies the
// value, Ajv's compiled JSON Schema ~0.4 µs and copies nothing (with the garbage it saves, ~2.5 µs
// of the worker's ~16 µs per event, measured). zod stays the judge: the fast check only accepts,
// and what it refuses goes through zod, which refuses it (or not) and words the reason.
//
// INVARIANT: the fast check accepts only what zod accepts, and zod's output would be the value as
// it is (unknown keys aside, which the windows never read). So it exists only for schemas whose
// JSON Schema says exactly what zod checks: every node a kind zod's JSON Schema renders whole, with
// checks it renders whole. A refinement, transform, default, trim or custom type (which JSON
// Schema drops or cannot hold) leaves the stream on zod alone.

import type { WireCheck, WireEvent } from '@sluice/shared/events/envelope';
import { wireSchemaFor } from '@sluice/shared/events/envelope';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';

/** Kinds whose JSON Schema accepts what zod accepts, and whose zod output is the input. */
const EXACT_KINDS = new Set([
  'string',
  'number',
  'boolean',
  'null',
  'literal',
  'enum',
  'object',
  'array',
  'optional',
  'nullable',
  'union',
  'record',
  'unknown',
  'any',
]);
/** Checks rendered whole: bounds, and lengths (zod and Ajv both count code points; see ajvUnits). */
const EXACT_CHECKS = new Set([
  'less_than',
  'greater_than',
  'number_format',
  'min_length',
  'max_length',
  'length_equals',
]);
/** String formats that are their pattern and nothing else (the pattern goes into the JSON Schema). */
const PATTERN_FORMATS = new Set([
  'regex',
  'datetime',
  'date',
  'time',
  'email',
  'uuid',
  'guid',
  'ulid',
  'starts_with',
  'ends_with',
  'includes',
  'lowercase',
  'uppercase',
]);

// The fields of zod's core definitions read here (documented for tooling as `schema._zod.def`);
// each kind's definition has more, which this check does not need.
interface CheckDef {
  readonly check?: string;
  readonly format?: string;
  readonly pattern?: unknown;
}
interface NodeDef extends CheckDef {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly keyType?: { readonly _zod: { readonly def: { readonly type: string } } };
}

/** A pattern format zod checks with its regex alone, a regex Ajv compiles the same (no flags). */
function patternOnly(def: CheckDef): boolean {
  return (
    def.format !== undefined &&
    PATTERN_FORMATS.has(def.format) &&
    def.pattern instanceof RegExp &&
    def.pattern.flags === ''
  );
}

// A check's `when` (zod's own, or a user's) can only skip it in zod; Ajv always checks, which is
// stricter, never looser, so it leaves the invariant whole.
function exactCheck(def: CheckDef): boolean {
  if (def.check === 'string_format') return patternOnly(def);
  return def.check !== undefined && EXACT_CHECKS.has(def.check);
}

function exactNode(def: NodeDef): boolean {
  if (!EXACT_KINDS.has(def.type)) return false;
  // A string format schema (z.email(), z.iso.datetime()) is its own check.
  if (def.type === 'string' && def.format !== undefined && !patternOnly(def)) return false;
  // Records keyed by an enum or literal are exhaustive in zod; only plain string keys are exact.
  if (def.type === 'record' && def.keyType?._zod.def.type !== 'string') return false;
  return (def.checks ?? []).every((check) => exactCheck(check._zod.def));
}

const AJV_OPTIONS = {
  strict: false,
  // Formats are zod's patterns (kept in the schema), compiled without the u flag as zod's are.
  validateFormats: false,
  unicodeRegExp: false,
} as const;
const ajv = new Ajv2020(AJV_OPTIONS);
// Lengths in UTF-16 units (`.length`), not code points: no per-string count of surrogate pairs
// (~0.2 µs per ecommerce event). A string has at least as many units as code points, so a maximum
// checked in units is stricter than zod's, never looser; a minimum is looser, except a minimum of
// 0 or 1 (a string of one unit or more has one code point or more). Used only for schemas whose
// every minLength is 1 or less (see unitLengthsSafe).
const ajvUnits = new Ajv2020({ ...AJV_OPTIONS, unicode: false });

/** True when no minLength in `schema` is above 1: checking lengths in UTF-16 units is then exact. */
function unitLengthsSafe(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return true;
  if ('minLength' in schema && typeof schema.minLength === 'number' && schema.minLength > 1) return false;
  return Object.values(schema).every(unitLengthsSafe);
}

const compiled = new WeakMap<z.ZodType<Record<string, unknown>>, WireCheck | null>();

/** The fast check for a stream's payload schema, or undefined where zod alone can judge it. */
export function fastCheckFor(payload: z.ZodType<Record<string, unknown>>): WireCheck | undefined {
  let check = compiled.get(payload);
  if (check === undefined) {
    check = compile(payload);
    compiled.set(payload, check);
  }
  return check ?? undefined;
}

function compile(payload: z.ZodType<Record<string, unknown>>): WireCheck | null {
  let exact = true;
  let jsonSchema: object;
  try {
    jsonSchema = z.toJSONSchema(wireSchemaFor(payload), {
      io: 'input',
      unrepresentable: 'throw',
      override: (ctx) => {
        // Read-only look at the definition zod converts (see NodeDef).
        const def = ctx.zodSchema._zod.def as unknown as NodeDef;
        if (!exactNode(def)) exact = false;
      },
    });
  } catch {
    return null;
  }
  if (!exact) return null;
  const validate = (unitLengthsSafe(jsonSchema) ? ajvUnits : ajv).compile(jsonSchema);
  return (json: unknown): json is WireEvent => validate(json);
}
