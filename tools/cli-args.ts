// Command-line options of the bench and tool scripts: node:util's parseArgs, with --help printing
// the script's usage (exit 0) and a mistyped option printing it too, with the reason, instead of
// a stack trace (exit 2).

import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import { TENANT_PATTERN } from '@sluice/shared/auth/key-store';

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

/** A usage mistake found after parsing: the reason and the usage, exit 2. */
export function exitWithUsage(usage: string, message: string): never {
  console.error(`${message}\nusage: ${usage}`);
  process.exit(2);
}

/** A required --tenant, in the tenant alphabet keys and sources share. */
export function tenantArg(tenant: string | undefined, usage: string): string {
  if (tenant === undefined) return exitWithUsage(usage, '--tenant is required');
  if (!TENANT_PATTERN.test(tenant)) return exitWithUsage(usage, '--tenant: 1 to 64 of A-Z a-z 0-9 _ . -');
  return tenant;
}
