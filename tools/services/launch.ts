// How each sluice service starts: its runtime, its entry point and the flags and environment that
// runtime needs. The one definition `./sluice up` (through tools/cli.ts) and the tests' harness
// (shared/test/services.ts) both use, so a flag changed here changes everywhere at once.

import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const SERVICE_NAMES = ['ingest', 'processor', 'query', 'edge'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export type Runtime = 'node' | 'bun' | 'deno';

/** The variable each service reads its port from, and the port `./sluice up` gives it. */
export const PORT_VAR: Readonly<Record<ServiceName, string>> = {
  ingest: 'SLUICE_INGEST_PORT',
  processor: 'SLUICE_PROCESSOR_PORT',
  query: 'SLUICE_QUERY_PORT',
  edge: 'SLUICE_EDGE_PORT',
};

export const DEFAULT_PORT: Readonly<Record<ServiceName, number>> = {
  ingest: 8080,
  processor: 9464,
  query: 8081,
  edge: 8787,
};

/**
 * The runtime each service runs on unless its variable says otherwise: the processor fleet on Bun
 * (the design card's "Bun-based processor fleets"), ingest on Bun (its HTTP server costs about
 * half of Node's per request: 1.2 to 1.5x the events end to end, docs/benchmarks), query on Bun,
 * the edge on Deno (its code is Web-API only, so Bun too). Node 24 stays tested for each but the
 * edge, and is the runtime of the librdkafka client (SLUICE_KAFKA_CLIENT=confluent).
 */
export const DEFAULT_RUNTIME: Readonly<Record<ServiceName, Runtime>> = {
  ingest: 'bun',
  processor: 'bun',
  query: 'bun',
  edge: 'deno',
};

/** The variable that picks a service's runtime (SLUICE_PROCESSOR_RUNTIME=node|bun, ...). */
export const RUNTIME_VAR: Readonly<Record<ServiceName, string>> = {
  ingest: 'SLUICE_INGEST_RUNTIME',
  processor: 'SLUICE_PROCESSOR_RUNTIME',
  query: 'SLUICE_QUERY_RUNTIME',
  edge: 'SLUICE_EDGE_RUNTIME',
};

/** The runtimes each service is tested on; a variable naming another one is refused. */
export const SUPPORTED_RUNTIMES: Readonly<Record<ServiceName, readonly Runtime[]>> = {
  ingest: ['bun', 'node'],
  processor: ['bun', 'node'],
  query: ['bun', 'node'],
  edge: ['deno', 'bun'],
};

/**
 * The runtime `name` runs on under `env`: its variable when set, else the default. A value the
 * service is not tested on is an error naming the choices, never a silent fallback.
 */
export function runtimeOf(
  name: ServiceName,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Runtime {
  const chosen = env[RUNTIME_VAR[name]];
  if (chosen === undefined || chosen === '') return DEFAULT_RUNTIME[name];
  const supported = SUPPORTED_RUNTIMES[name];
  const runtime = supported.find((r) => r === chosen);
  if (runtime === undefined)
    throw new Error(`${RUNTIME_VAR[name]}=${chosen}: sluice-${name} runs on ${supported.join(' or ')}`);
  return runtime;
}

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

export function isRuntime(value: string): value is Runtime {
  return value === 'node' || value === 'bun' || value === 'deno';
}

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the caller's environment (the runtime's own settings, never secrets). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The command that runs `name` on `runtime`. `otlpEndpoint` is where Deno's built-in OpenTelemetry
 * sends the edge's spans (the other runtimes read SLUICE_OTLP_ENDPOINT themselves).
 */
export function launchOf(
  name: ServiceName,
  runtime: Runtime = runtimeOf(name),
  otlpEndpoint = '',
  root = ROOT,
): Launch {
  const entry = `${root}${name}/src/main.ts`;
  switch (runtime) {
    case 'deno':
      // Deno's built-in OpenTelemetry exports the service's spans (and bridges @opentelemetry/api).
      return {
        command: 'deno',
        args: ['run', '--allow-env', '--allow-net', '--allow-read', entry],
        env: {
          OTEL_DENO: 'true',
          OTEL_SERVICE_NAME: `sluice-${name}`,
          OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
        },
      };
    case 'bun':
      // The edge's code is Web-API only: on Bun its tracing SDK comes from a preload.
      return {
        command: 'bun',
        args: name === 'edge' ? ['--preload', `${root}edge/bun/tracing-preload.ts`, entry] : [entry],
        env: {},
      };
    case 'node':
      return { command: 'node', args: [entry], env: {} };
  }
}
