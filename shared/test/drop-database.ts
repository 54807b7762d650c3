// Drops a test's database, whoever else is in it: the cleanup of every isolation.

/** What dropping needs of a postgres.js client (a pure unit fakes it). */
export interface DropClient {
  unsafe(query: string, parameters?: string[]): PromiseLike<unknown>;
}

/** PostgreSQL's insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = '42501';

export async function dropDatabase(admin: DropClient, name: string): Promise<void> {
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } catch (error) {
    // PostgreSQL 15 checks its right to end every backend in the database before ending any, and
    // an autovacuum worker has no role that a non-superuser may signal: the forced drop is
    // refused (42501) while one is vacuuming there. A plain drop stops autovacuum workers itself;
    // it only needs our own sessions gone first, which we may always end.
    if (!(error instanceof Error) || !('code' in error) || error.code !== INSUFFICIENT_PRIVILEGE) throw error;
    await admin.unsafe(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()`,
      [name],
    );
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}"`);
  }
}
