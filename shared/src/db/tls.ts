// TLS to PostgreSQL in libpq's own terms, so a managed database's documented connection string
// works as given: `?sslmode=verify-full&sslrootcert=/path/ca.pem` checks the server's certificate
// against that CA and its name against the URL's host; `sslrootcert=system` against the system's
// roots. postgres.js reads `sslmode` itself but would send `sslrootcert` to the server as a setting
// (and fail), so it is taken out of the URL here and becomes the TLS options' CA.
// verify-ca checks the chain but not the name (libpq's meaning); require, prefer and allow encrypt
// without checking (libpq's meaning too: say verify-full for a database across a network).

import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

export type PostgresSsl = boolean | 'require' | 'allow' | 'prefer' | 'verify-full' | ConnectionOptions;

export interface PostgresConnection {
  /** The URL postgres.js is given (without `sslmode` and `sslrootcert` when they became `ssl`). */
  readonly url: string;
  readonly ssl?: PostgresSsl;
}

export function postgresConnection(raw: string): PostgresConnection {
  const url = new URL(raw);
  const mode = url.searchParams.get('sslmode');
  const rootCert = url.searchParams.get('sslrootcert');
  if (mode !== 'verify-full' && mode !== 'verify-ca') {
    if (rootCert === null) return { url: raw };
    // A CA with no checking mode: libpq then verifies the chain (as verify-ca would).
    url.searchParams.delete('sslrootcert');
    return { url: url.toString(), ssl: caOptions(rootCert, false) };
  }
  url.searchParams.delete('sslmode');
  url.searchParams.delete('sslrootcert');
  return { url: url.toString(), ssl: caOptions(rootCert, mode === 'verify-full') };
}

function caOptions(rootCert: string | null, checkName: boolean): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    ...(rootCert === null || rootCert === 'system' ? {} : { ca: readFileSync(rootCert, 'utf8') }),
    ...(checkName ? {} : { checkServerIdentity: () => undefined }),
  };
}
