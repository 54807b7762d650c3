// A compiled check (Ajv, from the schema's JSON Schema) that stands in for a zod pass on a hot
// path: zod costs ~1.6 µs per ecommerce event and copies the value, Ajv's compiled JSON Schema
// ~0.4 µs and copies nothing. zod stays the judge: a compiled check only accepts, and what it
// refuses goes through zod, which refuses it (or not) and words the reason. Two users: the
// processor's decode of record values (processor/src/stages/decode-fast-path.ts) and intake's
// per-event check in ingest and the edge (intake-fast-path.ts).
//
// INVARIANT: a compiled check accepts only what zod accepts, and zod's output would be the value as
// it is (with unknown keys: see UnknownKeys). So it exists only for schemas whose JSON Schema says
// exactly what zod checks: every node a kind zod's JSON Schema renders whole, with checks it
// renders whole. A refinement, transform, default, trim or custom type (which JSON Schema drops or
// cannot hold) leaves the schema on zod alone.

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
interface ZodNode {
  readonly _zod: { readonly def: NodeDef };
}
interface NodeDef extends CheckDef {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly keyType?: ZodNode;
  readonly options?: readonly ZodNode[];
  readonly innerType?: ZodNode;
  readonly element?: ZodNode;
  readonly valueType?: ZodNode;
  readonly shape?: Readonly<Record<string, ZodNode>>;
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

function exactNode(def: NodeDef, unknownKeys: UnknownKeys): boolean {
  if (!EXACT_KINDS.has(def.type)) return false;
  // zod's union outputs its first member that parses, stripped to that member's keys; a closed
  // JSON Schema member may take the value whole where an earlier member would have stripped it.
  // So where unknown keys are refused, a union holds no object at any depth.
  if (def.type === 'union' && unknownKeys === 'refused' && (def.options ?? []).some(holdsObject))
    return false;
  // A string format schema (z.email(), z.iso.datetime()) is its own check.
  if (def.type === 'string' && def.format !== undefined && !patternOnly(def)) return false;
  // Records keyed by an enum or literal are exhaustive in zod; only plain string keys are exact.
  if (def.type === 'record' && def.keyType?._zod.def.type !== 'string') return false;
  return (def.checks ?? []).every((check) => exactCheck(check._zod.def));
}

/** Whether an object (which zod strips) is anywhere under `node`; bounded by the schema's size. */
function holdsObject(node: ZodNode): boolean {
  const def = node._zod.def;
  if (def.type === 'object') return true;
  const children = [def.innerType, def.element, def.valueType, ...(def.options ?? [])];
  return children.some((child) => child !== undefined && holdsObject(child));
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
// every minLength is 1 or less (see unitLengthsSafe). Ajv 8 calls the option deprecated (it still
// does what it says: the astral cases in the tests hold it) and warns on stderr at every start of
// every service that loads this, which is noise in their logs: its logger is off.
const ajvUnits = new Ajv2020({ ...AJV_OPTIONS, unicode: false, logger: false });

/** True when no minLength in `schema` is above 1: checking lengths in UTF-16 units is then exact. */
function unitLengthsSafe(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return true;
  if ('minLength' in schema && typeof schema.minLength === 'number' && schema.minLength > 1) return false;
  return Object.values(schema).every(unitLengthsSafe);
}

/**
 * What a compiled check does with keys an object schema does not name, where zod drops them:
 * - `kept`: accepted and left in the value (the processor, whose windows read named fields only);
 * - `refused`: a value holding one is refused by the check and goes through zod, which drops them
 *   (intake, where the value is what Kafka keeps: it must be zod's output, key for key).
 * A strict object refuses them and a loose one keeps them either way, as zod does.
 */
export type UnknownKeys = 'kept' | 'refused';

/** The compiled check of `schema`, or null where zod alone can judge it. */
export function compileExactCheck<T>(
  schema: z.ZodType,
  unknownKeys: UnknownKeys,
): ((json: unknown) => json is T) | null {
  let exact = true;
  let jsonSchema: object;
  try {
    jsonSchema = z.toJSONSchema(schema, {
      // zod renders a stripping object as closed (additionalProperties: false) for its output and
      // open for its input; every other exact kind renders the same either way.
      io: unknownKeys === 'refused' ? 'output' : 'input',
      unrepresentable: 'throw',
      override: (ctx) => {
        // Read-only look at the definition zod converts (see NodeDef).
        const def = ctx.zodSchema._zod.def as unknown as NodeDef;
        if (!exactNode(def, unknownKeys)) exact = false;
      },
    });
  } catch {
    return null;
  }
  if (!exact) return null;
  const validate = (unitLengthsSafe(jsonSchema) ? ajvUnits : ajv).compile(jsonSchema);
  return (json: unknown): json is T => validate(json);
}
