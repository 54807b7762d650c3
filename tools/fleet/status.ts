// `./sluice status`'s fleet table: each processor worker's runtime, process, partitions and lag, as
// the worker itself reports them on its /status (processor/src/main.ts). A worker that does not
// answer is a row saying so, never a missing row.

import { z } from 'zod';

const workerStatusSchema = z.object({
  runtime: z.string(),
  pid: z.number().int(),
  group: z.string(),
  kafkaClient: z.string(),
  partitions: z.array(
    z.object({
      topic: z.string(),
      partition: z.number().int(),
      lag: z.number().nullable(),
      watermarkLagSeconds: z.number().nullable(),
    }),
  ),
});
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

/** "ecommerce 0-2,5; webhooks 1": each topic's partitions, consecutive ones as a range. */
export function partitionList(partitions: WorkerStatus['partitions']): string {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const ranges = (ns: number[]) => {
    const sorted = [...ns].sort((a, b) => a - b);
    const out: string[] = [];
    let start = sorted[0];
    let prev = start;
    for (const n of [...sorted.slice(1), Number.NaN]) {
      if (start === undefined || prev === undefined) break;
      if (n === prev + 1) {
        prev = n;
        continue;
      }
      out.push(start === prev ? String(start) : `${start}-${prev}`);
      start = n;
      prev = n;
    }
    return out.join(',');
  };
  return [...byTopic.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, ns]) => `${topic} ${ranges(ns)}`)
    .join('; ');
}

/** A worker's total lag over the partitions whose lag is known, and how many are not known yet. */
export function totalLag(partitions: WorkerStatus['partitions']): { sum: number; unknown: number } {
  let sum = 0;
  let unknown = 0;
  for (const p of partitions) {
    if (p.lag === null) unknown += 1;
    else sum += p.lag;
  }
  return { sum, unknown };
}

export function fleetRows(workers: readonly { url: string; status: WorkerStatus | string }[]): string[] {
  const rows = [['WORKER', 'RUNTIME', 'PID', 'PARTITIONS', 'LAG', 'OWNS']];
  for (const { url, status } of workers) {
    if (typeof status === 'string') {
      rows.push([url, '-', '-', '-', '-', status]);
      continue;
    }
    const lag = totalLag(status.partitions);
    rows.push([
      url,
      status.runtime,
      String(status.pid),
      String(status.partitions.length),
      lag.unknown === 0 ? String(lag.sum) : `${lag.sum} (+${lag.unknown} not fetched yet)`,
      partitionList(status.partitions) || '(none)',
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export async function workerStatus(url: string): Promise<WorkerStatus | string> {
  try {
    const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return `answered ${response.status}`;
    const parsed = workerStatusSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : 'answered an unexpected /status';
  } catch (error) {
    return `not answering (${error instanceof Error ? error.message : String(error)})`;
  }
}
