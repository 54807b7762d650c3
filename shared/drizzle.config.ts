// drizzle-kit reads this to generate SQL migrations from src/db/schema.ts:
//   npx drizzle-kit generate --config shared/drizzle.config.ts
// Migrations are committed and applied at service start (src/db/migrate.ts), never pushed.

import { defineConfig } from 'drizzle-kit';

export const config = defineConfig({
  dialect: 'postgresql',
  schema: './shared/src/db/schema.ts',
  out: './shared/drizzle',
  strict: true,
});

// biome-ignore lint/style/noDefaultExport: drizzle-kit loads its config from the default export.
export default config;
