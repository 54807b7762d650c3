// Sample payloads derived from a stream's zod schema, for a stream that declares no `sample`
// generator: the schema as JSON Schema (zod's own z.toJSONSchema, the document GET
// /v1/streams/{s} serves) walked by a small deterministic generator of the constraints zod emits
// (types, enums, bounds, lengths, date-time). Values are plain and low-cardinality (a handful of
// keys per text field), so a load fills a few windows per key as real traffic does. A constraint
// it cannot satisfy (a bare regex pattern) is an error naming the field: the stream then needs a
// `sample` generator, rather than a load of events the stream refuses.

import type { Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { z } from 'zod';
import { z as zod } from 'zod';

/** The part of JSON Schema that zod v4 emits for payload schemas. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly prefixItems?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly format?: string;
  readonly pattern?: string;
}

/** Text fields take one of this many values: keys repeat, as a real stream's do. */
const TEXT_VALUES = 6;
/** An unbounded number is drawn from [0, 1000): plausible, and far from any float edge. */
const SPAN = 1_000;
const MAX_DEPTH = 8;

class Unsupported extends Error {}

/**
 * `count` payloads for `schema`, each checked with the schema itself. `now` is the time written
 * into date-time fields; `random` is seeded by the caller, so a pool is reproducible.
 */
export function schemaSamples(
  schema: z.ZodType,
  count: number,
  random: () => number,
  now: number,
): Result<unknown[]> {
  const json = zod.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const samples: unknown[] = [];
  for (let index = 0; index < count; index += 1) {
    let value: unknown;
    try {
      value = generate(json, { random, now, index }, 'payload', 0);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      return fail(appError('bad_request', `${error.message}; declare a \`sample\` generator on the stream`));
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      return fail(
        appError('bad_request', 'a payload derived from the schema does not parse with it', {
          details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        }),
      );
    samples.push(value);
  }
  return ok(samples);
}

interface Draw {
  readonly random: () => number;
  readonly now: number;
  readonly index: number;
}

function generate(schema: JsonSchema, draw: Draw, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Unsupported(`${path}: nested deeper than ${MAX_DEPTH}`);
  if ('const' in schema) return schema.const;
  if (schema.enum !== undefined) return pick(draw.random, schema.enum, path);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches !== undefined) return generate(generable(branches, path), draw, path, depth + 1);
  if (schema.allOf !== undefined && schema.allOf.length === 1) {
    const [only] = schema.allOf;
    if (only !== undefined) return generate(only, draw, path, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return objectValue(schema, draw, path, depth);
    case 'array':
      return arrayValue(schema, draw, path, depth);
    case 'string':
      return stringValue(schema, draw, path);
    case 'integer':
      return numberValue(schema, draw.random, true);
    case 'number':
      return numberValue(schema, draw.random, false);
    case 'boolean':
      return draw.random() < 0.5;
    case 'null':
      return null;
    case undefined:
      // `{}`: any value (z.unknown(), z.any()): a small object is a realistic payload.
      return { sample: draw.index };
    default:
      throw new Unsupported(`${path}: JSON Schema type '${String(type)}'`);
  }
}

/** The first branch the generator can satisfy: a bare pattern is not (a format is). */
function generable(branches: readonly JsonSchema[], path: string): JsonSchema {
  const found = branches.find((b) => b.pattern === undefined || b.format !== undefined) ?? branches[0];
  if (found === undefined) throw new Unsupported(`${path}: a union of no branches`);
  return found;
}

function objectValue(schema: JsonSchema, draw: Draw, path: string, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Optional fields too: a load carries the payloads real clients send, which fill them.
  for (const [key, property] of Object.entries(schema.properties ?? {}))
    out[key] = generate(property, draw, `${path}.${key}`, depth + 1);
  return out;
}

function arrayValue(schema: JsonSchema, draw: Draw, path: string, depth: number): unknown[] {
  if (schema.prefixItems !== undefined)
    return schema.prefixItems.map((item, i) => generate(item, draw, `${path}[${i}]`, depth + 1));
  const min = schema.minItems ?? 0;
  const max = Math.min(schema.maxItems ?? min + 3, min + 3);
  const length = min + Math.floor(draw.random() * (max - min + 1));
  const items = schema.items ?? {};
  return Array.from({ length }, (_, i) => generate(items, draw, `${path}[${i}]`, depth + 1));
}

function stringValue(schema: JsonSchema, draw: Draw, path: string): string {
  const n = Math.floor(draw.random() * TEXT_VALUES);
  switch (schema.format) {
    case 'date-time':
      return new Date(draw.now).toISOString();
    case 'date':
      return new Date(draw.now).toISOString().slice(0, 10);
    case 'email':
      return `user${n}@example.com`;
    case 'uuid':
      return uuidValue(draw.random);
    case 'uri':
    case 'url':
      return `https://example.com/${n}`;
    case undefined:
      break;
    default:
      throw new Unsupported(`${path}: string format '${schema.format}'`);
  }
  if (schema.pattern !== undefined) throw new Unsupported(`${path}: a string matching /${schema.pattern}/`);
  // Named for its field (`product_category-3`), so a window key reads as what it is.
  const field = path.slice(path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '') || 'value';
  const base = `${field}-${n}`;
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Number.POSITIVE_INFINITY;
  if (min > max) throw new Unsupported(`${path}: minLength above maxLength`);
  const padded = base.length < min ? base.padEnd(min, 'x') : base;
  return padded.length > max ? padded.slice(0, max) : padded;
}

function numberValue(schema: JsonSchema, random: () => number, integer: boolean): number {
  const step = integer ? 1 : 0.01;
  let lo =
    schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : schema.exclusiveMinimum + step);
  let hi =
    schema.maximum ?? (schema.exclusiveMaximum === undefined ? undefined : schema.exclusiveMaximum - step);
  if (lo === undefined) lo = hi === undefined ? 0 : Math.min(0, hi - SPAN);
  // A range that holds zero is drawn from its non-negative side: quantities and prices that
  // business rules (non-negative stock, price) expect of real traffic.
  if (lo < 0 && (hi === undefined || hi >= 0)) lo = 0;
  // A realistic span from the lower bound, not the full range of a number (1e12 amounts).
  hi = Math.min(hi ?? lo + SPAN, lo + SPAN);
  if (integer) {
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
  }
  let value = integer
    ? lo + Math.floor(random() * (hi - lo + 1))
    : Math.round((lo + random() * (hi - lo)) * 100) / 100;
  if (schema.multipleOf !== undefined) value = Math.ceil(lo / schema.multipleOf) * schema.multipleOf;
  return Math.min(Math.max(value, lo), hi);
}

function uuidValue(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function pick<T>(random: () => number, items: readonly T[], path: string): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Unsupported(`${path}: an empty enum`);
  return item;
}
