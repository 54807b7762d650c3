// What the benchmarks share: how far ingest and a processor got (their own /metrics), a process's
// CPU time, and printing figures as one aligned column.

import { readFile } from 'node:fs/promises';
import { scrape } from '../shared/test/prometheus.ts';

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far (Linux /proc). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A process's peak resident set so far, in MiB (Linux /proc: VmHWM). */
export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Events a processor has aggregated so far, from its Prometheus counter. */
export async function processedCount(processorUrl: string): Promise<number> {
  return (await scrape(processorUrl)).sum('sluice_processor_events_total', { outcome: 'processed' });
}

/** Events an ingest service has answered 202 for so far, from its Prometheus counter. */
export async function acceptedCount(ingestUrl: string): Promise<number> {
  return (await scrape(ingestUrl)).sum('sluice_events_accepted_total');
}

export function printReport(report: Readonly<Record<string, string | number>>): void {
  const width = Math.max(...Object.keys(report).map((name) => name.length)) + 2;
  for (const [name, value] of Object.entries(report)) console.log(`  ${name.padEnd(width)} ${value}`);
}
