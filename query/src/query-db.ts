// The query service's PostgreSQL pool: postgres.js under drizzle, as shared/src/db/client.ts makes
// it, with every session under a statement timeout (guarantee 5: no read runs unbounded; a range
// within the caps can still be slow on a loaded database, and a client must not hold a connection
// of the pool for as long as it likes). A read past it is canceled by PostgreSQL (SQLSTATE 57014)
// and answered 503 with Retry-After (read-failure.ts), never a 500.

import type { DbHandle } from '@sluice/shared/db/client';
import * as schema from '@sluice/shared/db/schema';
import { postgresConnection } from '@sluice/shared/db/tls';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';

export interface QueryDbOptions {
  readonly url: string;
  readonly maxConnections: number;
  readonly applicationName: string;
  /** PostgreSQL's `statement_timeout` of every session of the pool, in ms (0 would be none). */
  readonly statementTimeoutMs: number;
}

export function createQueryDb(options: QueryDbOptions): DbHandle {
  // TLS from libpq's sslmode and sslrootcert in the URL, as every service's pool takes it.
  const connection = postgresConnection(options.url);
  const sql = postgres(connection.url, {
    ...(connection.ssl === undefined ? {} : { ssl: connection.ssl }),
    max: options.maxConnections,
    onnotice: () => {},
    // Startup parameters: set once per session, no extra round trip per read.
    connection: {
      application_name: options.applicationName,
      statement_timeout: options.statementTimeoutMs,
    },
  });
  return { sql, db: drizzle(sql, { schema }), close: () => sql.end({ timeout: 5 }) };
}
