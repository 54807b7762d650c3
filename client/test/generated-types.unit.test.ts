// Unit: the committed query types are what openapi-typescript makes of the query service's
// OpenAPI document today. Fails when query/src/routes/*.ts changed and the types were not
// regenerated (node client/scripts/generate-types.ts).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { GENERATED_TYPES, generatedTypes, queryOpenApiDocument } from '../scripts/openapi-types.ts';

test('client/src/generated/query-api.ts is generated from the current OpenAPI document', async () => {
  const committed = await readFile(GENERATED_TYPES, 'utf8');
  const fresh = await generatedTypes();
  assert.ok(
    committed === fresh,
    'client/src/generated/query-api.ts is stale: run `node client/scripts/generate-types.ts` and commit it',
  );
});

test('a change to the document changes the types (the comparison can fail)', async () => {
  const document = queryOpenApiDocument() as {
    paths: Record<string, unknown>;
  };
  const changed = { ...document, paths: { ...document.paths, '/v1/new-route': { get: { responses: {} } } } };
  assert.notEqual(await generatedTypes(changed), await readFile(GENERATED_TYPES, 'utf8'));
});
