// The `{stream}` path parameter of every stream route: a declared stream, or a 404 in the envelope.

import { errorResponse } from '@sluice/shared/http/error-envelope';
import { appError } from '@sluice/shared/result';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { StreamRegistry } from '@sluice/shared/streams/registry';
import type { Context } from 'hono';

export function streamParam(
  c: Context,
  streams: StreamRegistry,
): { stream: StreamDefinition } | { response: Response } {
  const name = c.req.param('stream') ?? '';
  const stream = streams.get(name);
  return stream === undefined
    ? // Never echoes a client's string back whole.
      { response: errorResponse(c, appError('not_found', `unknown stream '${name.slice(0, 64)}'`)) }
    : { stream };
}
