// Intake shared by ingest and the edge: the body of POST /v1/events becomes per-event verdicts,
// and the answer takes one shape wherever it is given.

import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import type { BodyLimits } from './parse-body.ts';
import { DEFAULT_BODY_READ_TIMEOUT_MS, parseBody } from './parse-body.ts';
import type { Rejection, TenantRule, Verdicts } from './validate.ts';
import { refusedForTenant, TENANT_FROM_BODY, validateItems } from './validate.ts';

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
  tenant: TenantRule = TENANT_FROM_BODY,
): Promise<Result<Verdicts, AppError>> {
  const body = await parseBody(request, limits);
  if (!body.ok) return body;
  const verdicts = validateItems(body.value.items, {
    registry,
    now,
    maxEventBytes: limits.maxEventBytes,
    maxDepth: limits.maxDepth,
    newId: () => crypto.randomUUID(),
    tenant,
  });
  if (verdicts.accepted.length === 0) return fail(allRejected(verdicts.rejected));
  return ok(verdicts);
}

/**
 * The answer when every event of a request was refused: 403 `forbidden` when any of them named a
 * tenant other than the key's (issue 21, item 3), else 400; both with the per-event errors a
 * partial accept reports. With some accepted, the refusals stay per event in the 202.
 */
export function allRejected(rejected: readonly Rejection[]): AppError {
  const details = { accepted: 0, rejected };
  if (rejected.some(refusedForTenant))
    return appError(
      'forbidden',
      `all ${rejected.length} event(s) were refused: an event's tenant is not the key's`,
      {
        details,
      },
    );
  return appError('validation_failed', `all ${rejected.length} event(s) were rejected`, { details });
}
