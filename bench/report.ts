// What the benchmarks share: how far ingest and a processor got (their own /metrics), a process's
// CPU time, and printing figures as one aligned column.

import { readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far (Linux /proc). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Events a processor has aggregated so far, from its Prometheus counter. */
export async function processedCount(processorUrl: string): Promise<number> {
  const text = await (await fetch(`${processorUrl}/metrics`)).text();
  const match = /sluice_processor_events_total\{[^}]*outcome="processed"[^}]*\} (\d+)/.exec(text);
  return Number(match?.[1] ?? 0);
}

/** Events an ingest service has answered 202 for so far, from its Prometheus counter. */
export async function acceptedCount(ingestUrl: string): Promise<number> {
  const text = await (await fetch(`${ingestUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^sluice_events_accepted_total\{[^}]*\} (\d+)$/gm))
    total += Number(match[1]);
  return total;
}

export function printReport(report: Readonly<Record<string, string | number>>): void {
  const width = Math.max(...Object.keys(report).map((name) => name.length)) + 2;
  for (const [name, value] of Object.entries(report)) console.log(`  ${name.padEnd(width)} ${value}`);
}
