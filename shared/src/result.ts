// Expected failures are values, not exceptions (STYLE #4). Every error says whether retrying the
// same call can succeed, so callers retry only what is marked retryable.

/** Every error code an API answers with: the one list (the query API's OpenAPI document reads it). */
export const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'request_timeout',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  /** Machine-readable detail for clients (for example per-event validation errors). */
  readonly details?: unknown;
  /** Seconds a client should wait before retrying, when known. */
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

export type Result<T, E = AppError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E>(error: E): Result<never, E> => ({ ok: false, error });

export function appError(
  code: ErrorCode,
  message: string,
  extra: Partial<Omit<AppError, 'code' | 'message'>> = {},
): AppError {
  return { code, message, retryable: extra.retryable ?? RETRYABLE_BY_DEFAULT[code], ...extra };
}

// NOTE: a default only; an adapter that knows better (a Kafka error flagged retriable) overrides it.
const RETRYABLE_BY_DEFAULT: Record<ErrorCode, boolean> = {
  bad_request: false,
  validation_failed: false,
  unauthorized: false,
  forbidden: false,
  not_found: false,
  // A body that did not arrive in time: a client on a slow link may well succeed again.
  request_timeout: true,
  payload_too_large: false,
  unsupported_media_type: false,
  rate_limited: true,
  unavailable: true,
  internal: false,
};
