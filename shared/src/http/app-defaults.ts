// What every sluice Hono app shares: a request id on every request and response, the error
// envelope for unknown routes and for anything thrown, so no handler leaks a stack trace.

import type { Hono } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import { requestId } from 'hono/request-id';
import { appError } from '../result.ts';
import { errorResponse } from './error-envelope.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

export type BaseVariables = RequestIdVariables;

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
    options.onUnexpected?.(error);
    return errorResponse(c, appError('internal', 'internal error'));
  });
}
