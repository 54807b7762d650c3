// Query parameters of GET /v1/streams/{stream}/windows, validated against the stream they name.

import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { Duration } from '@sluice/shared/streams/duration';
import { durationMs } from '@sluice/shared/streams/duration';
import { z } from 'zod';

export const MAX_LIMIT = 10_000;
export const DEFAULT_RANGE_MS = 60 * 60_000;

/** RFC 3339, epoch milliseconds, or relative to now: `-15m`, `-2h`, `now`. */
function parseInstant(value: string, now: number): number | undefined {
  if (value === 'now') return now;
  const relative = /^-(\d+(?:\.\d+)?(?:ms|s|m|h|d))$/.exec(value);
  if (relative?.[1] !== undefined) return now - durationMs(relative[1] as Duration);
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) && /^\d{4}-\d{2}-\d{2}T/.test(value) ? parsed : undefined;
}

export interface WindowsParams {
  readonly window: string;
  readonly from: number;
  readonly to: number;
  /** null: roll every key of a window up into one row. */
  readonly groupBy: string | null;
  readonly limit: number;
}

export function windowsParamsSchema(stream: StreamDefinition, now: number) {
  const instant = (name: string) =>
    z.string().transform((value, ctx) => {
      const parsed = parseInstant(value, now);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: `${name} must be RFC 3339, epoch ms or relative like -15m` });
        return z.NEVER;
      }
      return parsed;
    });
  const windowNames = stream.windows.map((w) => w.name);
  const keyName = stream.keyBy.join(',');
  return z
    .object({
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
    })
    .transform((q, ctx): WindowsParams => {
      const to = q.to ?? now;
      const from = q.from ?? to - DEFAULT_RANGE_MS;
      if (from >= to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must be before to' });
      return { window: q.window, from, to, groupBy: q.group_by === keyName ? keyName : null, limit: q.limit };
    });
}
