// The request id every sluice response carries (X-Request-Id): the client's own when it sent a
// usable one, else a new UUID. The Hono apps get it from hono/request-id (app-defaults.ts); a path
// that answers before Hono does (query's cached hits) uses requestIdFor, which keeps Hono's rule:
// shared/test/request-id.unit.test.ts holds the two to the same answers.

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** hono/request-id's defaults: at most 255 characters, word characters, `-` and `=` only. */
const MAX_LENGTH = 255;
const UNSAFE = /[^\w\-=]/;

/** The id to answer with, given the X-Request-Id header the client sent (null: none). */
export function requestIdFor(sent: string | null): string {
  return sent === null || sent === '' || sent.length > MAX_LENGTH || UNSAFE.test(sent)
    ? crypto.randomUUID()
    : sent;
}
