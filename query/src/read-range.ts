// What the cached routes read from PostgreSQL for one answer: a declared window's rows in a range
// (with only the state a reader merges) and the stream's watermark, read before them; a range holding
// more rows than one answer may read is refused (400), not read whole; a read the statement
// timeout canceled, or a database away, is a 503 with Retry-After (read-failure.ts).

import type { StoredWindow } from '@sluice/shared/db/window-rows';
import type { AppError, Result } from '@sluice/shared/result';
import { appError, fail, ok } from '@sluice/shared/result';
import type { AggSpec, StreamDefinition } from '@sluice/shared/streams/define';
import { topicNames } from '@sluice/shared/streams/registry';
import { readFailure } from './read-failure.ts';
import type { WindowsRepo } from './windows-repo.ts';

/** Rows read from PostgreSQL for one answer at most. */
export const MAX_SCAN_ROWS = 200_000;

export interface ReadDeps {
  readonly repo: WindowsRepo;
  readonly group: string;
  readonly topicPrefix: string;
}

export async function readRange(
  deps: ReadDeps,
  q: {
    readonly tenant: string;
    readonly stream: StreamDefinition;
    readonly window: string;
    readonly from: number;
    readonly to: number;
    /** The aggregations whose state is merged (null: none, the rows' values are the answer). */
    readonly stateOf: readonly AggSpec[] | null;
  },
): Promise<Result<{ rows: StoredWindow[]; watermark: number | null }, AppError>> {
  let rows: StoredWindow[];
  let watermark: number | null;
  try {
    // The watermark first, then the rows: rows committed before that watermark (in the same
    // transaction as it) are all in the read, so a range the watermark passed is whole in it.
    // Read in parallel, a window written settled between the two reads could be missing from an
    // answer called complete.
    watermark = await deps.repo.watermark(deps.group, topicNames(q.stream.name, deps.topicPrefix).events);
    rows = await deps.repo.windows({
      tenant: q.tenant,
      stream: q.stream.name,
      window: q.window,
      from: q.from,
      to: q.to,
      limit: MAX_SCAN_ROWS + 1,
      stateOf: q.stateOf,
      allAggs: q.stream.aggregations,
      settledBefore: watermark,
    });
  } catch (error) {
    const failure = readFailure(error);
    if (failure === undefined) throw error;
    return fail(failure);
  }
  if (rows.length > MAX_SCAN_ROWS)
    return fail(
      appError('validation_failed', `the range holds more than ${MAX_SCAN_ROWS} windows; narrow from/to`),
    );
  return ok({ rows, watermark });
}

/** A range's answer is final: the watermark passed its end and nothing in it is provisional. */
export const isComplete = (
  watermark: number | null,
  to: number,
  rows: readonly { readonly status: string }[],
): boolean => watermark !== null && to <= watermark && rows.every((row) => row.status !== 'provisional');
