// A read of PostgreSQL that failed for want of the store, not for a bug: its statement timeout
// canceled it, or the database is not reachable. Both are answered 503 with Retry-After (the same
// read may succeed shortly); anything else stays an error (a 500, logged).

import type { AppError } from '@sluice/shared/result';
import { appError } from '@sluice/shared/result';

/** SQLSTATE query_canceled: the statement timeout (or an operator's cancel) stopped the read. */
const QUERY_CANCELED = '57014';
/** postgres.js's codes for a connection that is gone or never came (and the socket's own). */
const UNREACHABLE = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  // admin_shutdown, crash_shutdown, cannot_connect_now: the server is going or coming.
  '57P01',
  '57P02',
  '57P03',
]);

/** The SQLSTATE or client code of an error, or of one it wraps (drizzle wraps the driver's). */
function codeOf(error: unknown, depth = 0): unknown {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return code ?? codeOf(cause, depth + 1);
}

export function readFailure(error: unknown): AppError | undefined {
  const code = codeOf(error);
  if (code === QUERY_CANCELED)
    return appError(
      'unavailable',
      'the read took longer than the statement timeout; try again or narrow from/to',
      {
        retryAfterSeconds: 1,
        cause: error,
      },
    );
  if (typeof code === 'string' && UNREACHABLE.has(code))
    return appError('unavailable', 'PostgreSQL is not reachable', { retryAfterSeconds: 2, cause: error });
  return undefined;
}
