// What the edge needs from its host runtime, for Deno and Bun: the environment, a server and
// termination signals. Only the slices used are typed, so neither runtime's types are a dependency.

type RuntimeHandler = (request: Request) => Response | Promise<Response>;

/** What the runtime knows of a request's connection. */
export interface ClientInfo {
  readonly remoteAddress?: string;
}

type Handler = (request: Request, client: ClientInfo) => Response | Promise<Response>;

interface DenoRuntime {
  env: { toObject(): Record<string, string> };
  args: string[];
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: (request: Request, info: { remoteAddr?: { hostname?: string } }) => ReturnType<RuntimeHandler>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
}
interface BunServer {
  stop(closeActive?: boolean): Promise<void>;
  requestIP(request: Request): { address: string } | null;
}
interface BunRuntime {
  serve(options: {
    fetch: (request: Request, server: BunServer) => ReturnType<RuntimeHandler>;
    hostname: string;
    port: number;
  }): BunServer;
}
interface ProcessLike {
  env: Record<string, string | undefined>;
  argv: string[];
  on(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
}

const host = globalThis as { Deno?: DenoRuntime; Bun?: BunRuntime; process?: ProcessLike };

export interface EdgeRuntime {
  readonly name: 'deno' | 'bun';
  readonly env: Record<string, string | undefined>;
  readonly argv: readonly string[];
  serve(handler: Handler, options: { hostname: string; port: number }): { close(): Promise<void> };
  onSignal(handler: () => void): void;
  exit(code: number): never;
}

export function detectRuntime(): EdgeRuntime {
  const deno = host.Deno;
  if (deno !== undefined) {
    return {
      name: 'deno',
      env: deno.env.toObject(),
      argv: deno.args,
      serve: (handler, options) => {
        const server = deno.serve({ ...options, onListen: () => {} }, (request, info) => {
          const remoteAddress = info.remoteAddr?.hostname;
          return handler(request, remoteAddress === undefined ? {} : { remoteAddress });
        });
        return { close: () => server.shutdown() };
      },
      onSignal: (handler) => {
        deno.addSignalListener('SIGTERM', handler);
        deno.addSignalListener('SIGINT', handler);
      },
      exit: (code) => deno.exit(code),
    };
  }
  const bun = host.Bun;
  const proc = host.process;
  if (bun !== undefined && proc !== undefined) {
    return {
      name: 'bun',
      env: proc.env,
      argv: proc.argv,
      serve: (handler, options) => {
        const server = bun.serve({
          fetch: (request, bunServer) => {
            const remoteAddress = bunServer.requestIP(request)?.address;
            return handler(request, remoteAddress === undefined ? {} : { remoteAddress });
          },
          ...options,
        });
        return { close: () => server.stop(false) };
      },
      onSignal: (handler) => {
        proc.on('SIGTERM', handler);
        proc.on('SIGINT', handler);
      },
      exit: (code) => proc.exit(code),
    };
  }
  throw new Error('sluice-edge runs on Deno or Bun (or a Workers runtime through its fetch export)');
}
