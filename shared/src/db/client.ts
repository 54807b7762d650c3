// One postgres.js pool wrapped by drizzle. Services create it in main.ts and close it on drain.

import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';
import { postgresConnection } from './tls.ts';

export type Db = PostgresJsDatabase<typeof schema>;

export interface DbHandle {
  readonly sql: postgres.Sql;
  readonly db: Db;
  close(): Promise<void>;
}

export interface DbOptions {
  readonly url: string;
  readonly maxConnections?: number;
  readonly applicationName?: string;
}

export function createDb(options: DbOptions): DbHandle {
  // TLS from libpq's sslmode and sslrootcert in the URL (tls.ts).
  const connection = postgresConnection(options.url);
  const sql = postgres(connection.url, {
    ...(connection.ssl === undefined ? {} : { ssl: connection.ssl }),
    max: options.maxConnections ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'sluice' },
  });
  const db = drizzle(sql, { schema });
  return {
    sql,
    db,
    close: () => sql.end({ timeout: 5 }),
  };
}
