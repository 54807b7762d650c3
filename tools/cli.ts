// The Node-level commands of ./sluice, in one place: bash bootstraps (Node itself, apt packages,
// the JVM and Go builds, the stack's processes) and hands everything else to this CLI. Each command
// is a module of its own that reads its arguments as a script would (node:util parseArgs over
// process.argv), so `node tools/cli.ts send FILE` and `node tools/send.ts FILE` are the same run.

import { fileURLToPath } from 'node:url';
import type { Launch } from './services/launch.ts';
import { isRuntime, isServiceName, launchOf, RUNTIME_VAR, runtimeOf } from './services/launch.ts';

interface Command {
  /** The module that runs it, relative to this file. */
  readonly module: string;
  readonly about: string;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  send: { module: './send.ts', about: 'send events from an NDJSON file' },
  gen: { module: './gen.ts', about: 'a synthetic workload of a stream' },
  load: { module: './load.ts', about: "k6 scenarios with a stream's events" },
  replay: { module: './replay.ts', about: "re-inject a stream's late events as a backfill" },
  dlq: { module: './dlq.ts', about: 'dead letters: list, show, replay' },
  keys: { module: './keys.ts', about: 'API keys and tenant quotas' },
  webhooks: { module: './webhooks.ts', about: 'webhook sources' },
  windows: { module: './windows.ts', about: "the window table's day partitions: maintain, list" },
  test: { module: './test-run.ts', about: 'the test files, by tier' },
  'fleet status': { module: './fleet.ts', about: "each processor worker's runtime, partitions and lag" },
  'bench e2e': { module: '../bench/e2e.ts', about: 'the end-to-end benchmark' },
  'bench processor': { module: '../bench/processor.ts', about: 'one worker draining a filled topic' },
  'bench query': { module: '../bench/query.ts', about: 'k6 against the query service' },
  'bench dedup': { module: '../bench/dedup.ts', about: 'event-id claims in Redis' },
  'bench webhooks': { module: '../bench/webhooks.ts', about: 'verification CPU per delivery' },
  'bench nexmark': { module: '../bench/nexmark.ts', about: 'Nexmark queries against Flink per core' },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(18)}${c.about}`);
  return [
    'usage: node tools/cli.ts <command> [args]',
    ...rows,
    '  service-launch NAME [RUNTIME]   print how a service starts (one word per line; for ./sluice)',
  ].join('\n');
}

const [first = '', second = '', ...rest] = process.argv.slice(2);

if (first === 'service-launch') {
  // For bash: `env K=V ... command args`, one word per line, so a path with a space stays one word.
  // The runtime: the argument, else the service's variable (SLUICE_PROCESSOR_RUNTIME, ...), else its default.
  if (!isServiceName(second) || (rest[0] !== undefined && !isRuntime(rest[0]))) {
    console.error(usage());
    process.exit(2);
  }
  let launch: Launch;
  try {
    launch = launchOf(
      second,
      runtimeOf(second, rest[0] === undefined ? process.env : { [RUNTIME_VAR[second]]: rest[0] }),
      process.env.SLUICE_OTLP_ENDPOINT ?? '',
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  const words = [
    'env',
    ...Object.entries(launch.env).map(([k, v]) => `${k}=${v}`),
    launch.command,
    ...launch.args,
  ];
  process.stdout.write(`${words.join('\n')}\n`);
  process.exit(0);
}

const twoWord = COMMANDS[`${first} ${second}`];
const command = twoWord ?? COMMANDS[first];
if (command === undefined) {
  console.error(usage());
  process.exit(first === '' || first === 'help' || first === '--help' ? 0 : 2);
}
const modulePath = fileURLToPath(new URL(command.module, import.meta.url));
const args = twoWord === undefined ? [second, ...rest].filter((a, i) => i > 0 || a !== '') : rest;
// The command's module parses process.argv as if it had been run itself.
process.argv = [process.argv[0] ?? process.execPath, modulePath, ...args];
await import(modulePath);
