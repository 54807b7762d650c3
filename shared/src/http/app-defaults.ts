// What every sluice Hono app shares: a request id on every request and response, the error
// envelope for unknown routes and for anything thrown, so no handler leaks a stack trace.

import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RequestIdVariables } from 'hono/request-id';
import { requestId } from 'hono/request-id';
import type { ErrorCode } from '../result.ts';
import { appError } from '../result.ts';
import { errorResponse } from './error-envelope.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

export type BaseVariables = RequestIdVariables;

const CODE_BY_STATUS: ReadonlyMap<number, ErrorCode> = new Map([
  [400, 'bad_request'],
  [413, 'payload_too_large'],
  [415, 'unsupported_media_type'],
]);

export interface AppDefaultsOptions {
  /** Called with anything a handler threw; the client gets a 500 envelope without details. */
  readonly onUnexpected?: (error: unknown) => void;
}

export function applyAppDefaults<E extends { Variables: BaseVariables }>(
  app: Hono<E>,
  options: AppDefaultsOptions = {},
): void {
  app.use('*', requestId({ headerName: REQUEST_ID_HEADER }));
  // NOTE: client text in a message is bounded (a path may be as long as the server lets a line be).
  app.notFound((c) =>
    errorResponse(
      c,
      appError('not_found', `no route for ${c.req.method.slice(0, 32)} ${c.req.path.slice(0, 256)}`),
    ),
  );
  app.onError((error, c) => {
    // Hono's own refusals of a request (malformed JSON, a media type a route does not take) are
    // the client's: a 4xx in the envelope with Hono's message, never a 500.
    const refused = error instanceof HTTPException ? CODE_BY_STATUS.get(error.status) : undefined;
    if (refused !== undefined) return errorResponse(c, appError(refused, error.message.slice(0, 200)));
    options.onUnexpected?.(error);
    return errorResponse(c, appError('internal', 'internal error'));
  });
}
