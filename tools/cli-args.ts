// Command-line options of the bench and tool scripts: node:util's parseArgs, with --help printing
// the script's usage (exit 0) and a mistyped option printing it too, with the reason, instead of
// a stack trace (exit 2).

import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';

export function parseCliArgs<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T>> {
  const withHelp = { ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } };
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp as T);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nusage: ${usage}`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(`usage: ${usage}`);
    process.exit(0);
  }
  return parsed;
}
