// Helpers of the deploy checks (deploy/test): a tool's path from the environment ./sluice test
// exports, running it with its exit code as a value, and the variables each service reads, taken
// from its config source (so an image, compose file or chart that passes a variable the service
// does not know is caught: a typo there would be silently ignored at run time).

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../tools/services/launch.ts';

export { ROOT };

export function toolPath(variable: string): string {
  const value = process.env[variable];
  if (value === undefined || value === '')
    throw new Error(`${variable} is not set: run through ./sluice test`);
  return value;
}

export interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs a tool; a non-zero exit is a value (with what it printed), never a throw. */
export function run(command: string, args: readonly string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const VARIABLE = /\bSLUICE_[A-Z0-9_]+\b/g;
/** The files whose text names the variables a service reads. */
const CONFIG_SOURCES: Readonly<Record<string, readonly string[]>> = {
  ingest: ['ingest/src/config.ts', 'shared/src/connection-config.ts'],
  processor: ['processor/src/config.ts', 'shared/src/connection-config.ts'],
  query: ['query/src/config.ts'],
  edge: ['edge/src/config.ts', 'edge/bun/tracing-preload.ts'],
};

/** Every SLUICE_* variable `service` reads (its config schema's keys and what its runtime reads). */
export function variablesOf(service: keyof typeof CONFIG_SOURCES | string): Set<string> {
  const files = CONFIG_SOURCES[service];
  if (files === undefined) throw new Error(`unknown service ${service}`);
  const names = new Set<string>();
  for (const file of files)
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(VARIABLE)) names.add(m[0]);
  return names;
}

/** Variables a runtime reads, not the service's schema: Node's, Bun's, Deno's and OpenTelemetry's. */
export const RUNTIME_VARIABLE = /^(NODE_|BUN_|DENO_|OTEL_)/;

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** A Dockerfile's instructions: comments dropped, `\` continuations joined. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += `${line.replace(/\\$/, '').trim()} `;
    if (line.endsWith('\\')) continue;
    const [keyword = '', ...rest] = pending.trim().split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' ') });
    pending = '';
  }
  return out;
}
