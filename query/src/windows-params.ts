// Query parameters of GET /v1/streams/{stream}/windows, validated against the stream they name.
// The schema is built once per stream (zod compiles a schema on first use); times relative to
// now (`-15m`) are resolved after parsing, so the schema itself does not depend on the clock.

import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { z } from 'zod';

export const MAX_LIMIT = 10_000;
export const DEFAULT_RANGE_MS = 60 * 60_000;

/** An instant as written: absolute epoch ms, or an offset back from now (`now` is 0). */
type Instant = { readonly at: number } | { readonly ago: number };

/** RFC 3339, epoch milliseconds, or relative to now: `-15m`, `-2h`, `now`. */
function parseInstant(value: string): Instant | undefined {
  if (value === 'now') return { ago: 0 };
  const relative = /^-(\d+(?:\.\d+)?(?:ms|s|m|h|d))$/.exec(value);
  if (relative?.[1] !== undefined) return { ago: durationMs(relative[1] as Duration) };
  if (/^\d+$/.test(value)) return { at: Number(value) };
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) && /^\d{4}-\d{2}-\d{2}T/.test(value) ? { at: parsed } : undefined;
}

const resolve = (instant: Instant, now: number) => ('at' in instant ? instant.at : now - instant.ago);

export interface WindowsParams {
  readonly window: string;
  readonly from: number;
  readonly to: number;
  /** null: roll every key of a window up into one row. */
  readonly groupBy: string | null;
  readonly limit: number;
}

function schemaFor(stream: StreamDefinition) {
  const instant = (name: string) =>
    z.string().transform((value, ctx) => {
      const parsed = parseInstant(value);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: `${name} must be RFC 3339, epoch ms or relative like -15m` });
        return z.NEVER;
      }
      return parsed;
    });
  const windowNames = stream.windows.map((w) => w.name);
  const keyName = stream.keyBy.join(',');
  return z.object({
    window: z
      .string()
      .default(windowNames[0] ?? '')
      .refine((w) => windowNames.includes(w), {
        message: `window must be one of: ${windowNames.join(', ')}`,
      }),
    from: instant('from').optional(),
    to: instant('to').optional(),
    group_by: z
      .string()
      .default(keyName)
      .refine((g) => g === keyName || g === '' || g === 'none', {
        message: `group_by must be '${keyName}' or 'none'`,
      }),
    limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(1_000),
  });
}

const schemas = new WeakMap<StreamDefinition, ReturnType<typeof schemaFor>>();

export function parseWindowsParams(
  stream: StreamDefinition,
  query: Record<string, string>,
  now: number,
): { success: true; data: WindowsParams } | { success: false; error: z.ZodError } {
  let schema = schemas.get(stream);
  if (schema === undefined) {
    schema = schemaFor(stream);
    schemas.set(stream, schema);
  }
  const parsed = schema.safeParse(query);
  if (!parsed.success) return { success: false, error: parsed.error };
  const q = parsed.data;
  const to = q.to === undefined ? now : resolve(q.to, now);
  const from = q.from === undefined ? to - DEFAULT_RANGE_MS : resolve(q.from, now);
  if (from >= to) {
    return {
      success: false,
      error: new z.ZodError([
        { code: 'custom', path: ['from'], message: 'from must be before to', input: query.from },
      ]),
    };
  }
  const keyName = stream.keyBy.join(',');
  return {
    success: true,
    data: { window: q.window, from, to, groupBy: q.group_by === keyName ? keyName : null, limit: q.limit },
  };
}
