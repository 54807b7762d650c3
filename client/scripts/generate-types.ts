// Regenerates client/src/generated/query-api.ts from the query service's OpenAPI document:
//   node client/scripts/generate-types.ts
// Run it after changing query/src/routes/*.ts (the staleness test says when), then commit the file.

import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GENERATED_TYPES, generatedTypes } from './openapi-types.ts';

await writeFile(GENERATED_TYPES, await generatedTypes());
console.log(`wrote ${fileURLToPath(GENERATED_TYPES)}`);
