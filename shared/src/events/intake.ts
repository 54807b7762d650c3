// Intake shared by ingest and the edge: the body of POST /v1/events becomes per-event verdicts,
// and the answer takes one shape wherever it is given.

import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import type { BodyLimits } from './parse-body.ts';
import { DEFAULT_BODY_READ_TIMEOUT_MS, parseBody } from './parse-body.ts';
import type { Rejection, Verdicts } from './validate.ts';
import { validateItems } from './validate.ts';

export interface IntakeLimits extends BodyLimits {
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: IntakeLimits = {
  maxRequestBytes: 10 * 1024 * 1024,
  maxEventBytes: 1024 * 1024,
  maxEvents: 10_000,
  maxDepth: 32,
  bodyReadTimeoutMs: DEFAULT_BODY_READ_TIMEOUT_MS,
};

/** The 202 body: how many were accepted (their ids in request order) and which were not. */
export interface IntakeResponse {
  readonly accepted: number;
  readonly ids: readonly string[];
  readonly rejected: readonly Rejection[];
}

export async function readEvents(
  request: Request,
  registry: StreamRegistry,
  limits: IntakeLimits,
  now: number,
): Promise<Result<Verdicts, AppError>> {
  const body = await parseBody(request, limits);
  if (!body.ok) return body;
  const verdicts = validateItems(body.value.items, {
    registry,
    now,
    maxEventBytes: limits.maxEventBytes,
    maxDepth: limits.maxDepth,
    newId: () => crypto.randomUUID(),
  });
  if (verdicts.accepted.length === 0) {
    // Every event was invalid: 400 with the same per-event errors a partial accept reports.
    return fail(
      appError('validation_failed', `all ${verdicts.rejected.length} event(s) were rejected`, {
        details: { accepted: 0, rejected: verdicts.rejected },
      }),
    );
  }
  return ok(verdicts);
}
