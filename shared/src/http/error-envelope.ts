// The one HTTP error envelope every sluice service answers with (STYLE #5):
//   { "error": { "code", "message", "requestId", "details"? } }
// Statuses come from one exhaustive map, so a new ErrorCode does not compile until it has one.

import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { AppError, ErrorCode } from '../result.ts';
import { appError } from '../result.ts';
import type { FieldError } from '../zod-issues.ts';
import { fieldErrors } from '../zod-issues.ts';

export interface ErrorEnvelope {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly requestId: string;
    readonly details?: unknown;
  };
}

export const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export function envelope(error: AppError, requestId: string): ErrorEnvelope {
  return {
    error: {
      code: error.code,
      message: error.message,
      requestId,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

/** Answers with the envelope and the status (and Retry-After) that belong to the error. */
export function errorResponse(c: Context, error: AppError): Response {
  const requestId = c.get('requestId') ?? c.req.header('x-request-id') ?? 'unknown';
  if (error.retryAfterSeconds !== undefined) {
    c.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  }
  return c.json(envelope(error, requestId), STATUS_BY_CODE[error.code]);
}

export type { FieldError };

export function validationError(error: z.ZodError, message = 'request validation failed'): AppError {
  return appError('validation_failed', message, { details: fieldErrors(error.issues) });
}
