// Serves a fetch handler on Node (through @hono/node-server) or on Bun (Bun.serve, which bypasses
// node:http), so query/ and ingest/ share one entry shape on either runtime.

import type { AddressInfo } from 'node:net';

/** A fetch handler; `env` is what the runtime passes along (Bun: its server, for requestIP). */
export type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

export interface ServeOptions {
  readonly hostname: string;
  readonly port: number;
  /**
   * Node only: a request whose headers take longer is answered 408 and its connection closed
   * (node:http's `headersTimeout`); a slow sender cannot hold a socket by trickling them. Bun has
   * its own fixed header deadline instead (uWebSockets': the connection is closed, without an
   * answer, 8 to 12 s after it opened, however slowly the headers trickle), not configurable.
   */
  readonly headersTimeoutMs?: number;
  /**
   * Node only: the whole request (headers and body) must arrive within this (node:http's
   * `requestTimeout`, 408). The handlers' own body-read deadline usually answers first; this is
   * the backstop for a body no handler reads.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Bun only: how long a request may go unanswered before Bun closes its connection without a
   * word. Bun's idle timeout (10 s) otherwise applies to each request from its headers on, and
   * reading the body does not restart it: a handler whose own deadlines are longer (a 30 s body
   * read, a 5 s produce wait) would be cut off before its 408 or 503 is written. Set this past
   * the handler's deadlines so the client always gets their answer. Default: Bun's idle timeout.
   */
  readonly answerWithinMs?: number;
}

/** node:http's defaults are 60 s for headers and 300 s per request: far too long for intake. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

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
  /** This request's idle timeout, in whole seconds (at most 255; 0 is none). */
  timeout(request: Request, seconds: number): void;
}
interface BunRuntime {
  serve(options: {
    fetch: (request: Request, server: BunServer) => Response | Promise<Response>;
    hostname: string;
    port: number;
    development: boolean;
    idleTimeout: number;
  }): BunServer;
}

/** Bun's per-request timeout takes whole seconds, at most 255. */
const BUN_MAX_TIMEOUT_S = 255;
/** Bun's own idle timeout (its default), set explicitly: a request's answer sets it back to this. */
const BUN_IDLE_TIMEOUT_S = 10;

/** `answerWithinMs` as Bun's whole seconds; a value Bun cannot keep is refused at start. */
export function bunAnswerSeconds(answerWithinMs: number): number {
  const seconds = Math.ceil(answerWithinMs / 1000);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > BUN_MAX_TIMEOUT_S)
    throw new Error(
      `on Bun a request can be given 1 to ${BUN_MAX_TIMEOUT_S} s to be answered, not ${answerWithinMs} ms: lower the body read and produce deadlines`,
    );
  return seconds;
}

function bunRuntime(): BunRuntime | undefined {
  return (globalThis as { Bun?: BunRuntime }).Bun;
}

export async function serveHttp(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
  const bun = bunRuntime();
  if (bun !== undefined) {
    // NOTE: never Bun's development mode (its default unless NODE_ENV=production), which answers an
    // uncaught error with its stack trace; the apps answer every error in the envelope themselves.
    const seconds =
      options.answerWithinMs === undefined ? undefined : bunAnswerSeconds(options.answerWithinMs);
    const server = bun.serve({
      // Guarantee: every request a handler answers gets that answer (its 408, 503 or 202), not a
      // connection closed under it by Bun's idle timeout while the handler still waits. The longer
      // timeout is the request's only: Bun keeps it on the connection, so the answer sets the idle
      // timeout back, and a next request on a kept-alive connection gets no more time for its
      // headers than a fresh one (measured: 48 s of trickled headers otherwise, 12 s with this).
      fetch:
        seconds === undefined
          ? fetch
          : async (request, bunServer) => {
              bunServer.timeout(request, seconds);
              try {
                return await fetch(request, bunServer);
              } finally {
                bunServer.timeout(request, BUN_IDLE_TIMEOUT_S);
              }
            },
      hostname: options.hostname,
      port: options.port,
      development: false,
      idleTimeout: BUN_IDLE_TIMEOUT_S,
    });
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
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const serverOptions = {
    headersTimeout,
    // node:http refuses a request timeout shorter than the headers timeout.
    requestTimeout: Math.max(headersTimeout, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    // NOTE: both timeouts are only checked this often (node's default: every 30 s).
    connectionsCheckingInterval: Math.min(1_000, headersTimeout),
  };
  return new Promise((resolve) => {
    const server = serve(
      { fetch, hostname: options.hostname, port: options.port, serverOptions },
      (info: AddressInfo) => {
        let closing: Promise<void> | undefined;
        resolve({
          port: info.port,
          runtime: 'node',
          close: () => {
            closing ??= new Promise<void>((done) => server.close(() => done()));
            return closing;
          },
        });
      },
    );
  });
}
