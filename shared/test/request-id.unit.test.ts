// The request id rule outside Hono (requestIdFor, for a path that answers before Hono does) is
// hono/request-id's: the same ids kept, the same replaced by a new UUID.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { REQUEST_ID_HEADER, requestIdFor } from '../src/http/request-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('requestIdFor keeps and replaces exactly the ids hono/request-id does', async () => {
  const app = new Hono();
  app.use('*', requestId({ headerName: REQUEST_ID_HEADER }));
  app.get('/', (c) => c.text('ok'));
  const sent: (string | null)[] = [
    null,
    '',
    'abc',
    'A-b_c=9',
    'x'.repeat(255),
    'x'.repeat(256),
    'has space',
    'semi;colon',
    'dot.ted',
    'slash/ed',
    'ünïcode',
    '"quoted"',
    'tab\there',
    crypto.randomUUID(),
  ];
  for (const id of sent) {
    const response = await app.request('/', { headers: id === null ? {} : { [REQUEST_ID_HEADER]: id } });
    const hono = response.headers.get(REQUEST_ID_HEADER) ?? '';
    const ours = requestIdFor(id);
    const kept = hono === id;
    assert.equal(
      ours === id,
      kept,
      `${JSON.stringify(id)}: kept by Hono ${kept}, by requestIdFor ${ours === id}`,
    );
    if (!kept) assert.match(ours, UUID);
  }
});
