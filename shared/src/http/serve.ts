// Serves a fetch handler on Node (through @hono/node-server) or on Bun (Bun.serve, which bypasses
// node:http), so query/ and ingest/ share one entry shape on either runtime.

import type { AddressInfo } from 'node:net';

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ServeOptions {
  readonly hostname: string;
  readonly port: number;
}

export interface RunningServer {
  readonly port: number;
  readonly runtime: 'bun' | 'node';
  /** Stops accepting connections and waits for in-flight requests; idempotent. */
  close(): Promise<void>;
}

// The slice of Bun's API used here; Bun's own types are not a dependency of the Node services.
interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
interface BunRuntime {
  serve(options: { fetch: FetchHandler; hostname: string; port: number; development: boolean }): BunServer;
}

function bunRuntime(): BunRuntime | undefined {
  return (globalThis as { Bun?: BunRuntime }).Bun;
}

export async function serveHttp(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
  const bun = bunRuntime();
  if (bun !== undefined) {
    // NOTE: never Bun's development mode (its default unless NODE_ENV=production), which answers an
    // uncaught error with its stack trace; the apps answer every error in the envelope themselves.
    const server = bun.serve({ fetch, hostname: options.hostname, port: options.port, development: false });
    let closing: Promise<void> | undefined;
    return {
      port: server.port,
      runtime: 'bun',
      close: () => {
        closing ??= server.stop(false);
        return closing;
      },
    };
  }
  const { serve } = await import('@hono/node-server');
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname: options.hostname, port: options.port }, (info: AddressInfo) => {
      let closing: Promise<void> | undefined;
      resolve({
        port: info.port,
        runtime: 'node',
        close: () => {
          closing ??= new Promise<void>((done) => server.close(() => done()));
          return closing;
        },
      });
    });
  });
}
