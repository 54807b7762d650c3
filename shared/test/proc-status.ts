// A service process as the kernel sees it (Linux /proc): whether it still runs (a zombie does
// not) and its resident memory, for tests that hold a process to bounded memory (guarantee 5).

import { readFile } from 'node:fs/promises';

export interface ProcStatus {
  /** The state letter of /proc/PID/status (R, S, D, Z, ...). */
  readonly state: string;
  /** Resident set size, KiB (VmRSS). */
  readonly rssKiB: number;
}

/** The process's state and RSS, or undefined when there is no such process (or it is a zombie). */
export async function procStatus(pid: number): Promise<ProcStatus | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const state = /^State:\s+(\S)/m.exec(text)?.[1] ?? '';
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text)?.[1];
  // A zombie has no VmRSS line: it holds no memory and runs no code.
  if (state === 'Z' || state === 'X' || rss === undefined) return undefined;
  return { state, rssKiB: Number(rss) };
}
