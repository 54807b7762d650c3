// Where a benchmark's CPU went: user + system time of every process on the machine, grouped by
// what it is (the services by pid, the stack by program name), read from /proc before and after
// a run. CPU time per event moves far less than wall-clock rates with how busy the machine's
// neighbours are, so it says which part of the pipeline an event costs most in.

import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

const TICKS_PER_SECOND = 100;

const LOAD = 'k6 (load)';
/** The label of the whole machine's busy time in a census. */
export const MACHINE = 'machine (all processes)';

/** Program names of the stack's processes, as /proc/<pid>/comm shows them. */
const STACK_PROGRAMS: Readonly<Record<string, string>> = {
  java: 'kafka',
  postgres: 'postgres',
  'redis-server': 'redis',
  jaeger: 'jaeger',
  k6: LOAD,
};

export type CpuCensus = ReadonlyMap<string, number>;

async function processCpu(
  pid: string,
): Promise<{ comm: string; seconds: number; childSeconds: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    return {
      comm,
      seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
      // Waited-for children (PostgreSQL's exited backends) count toward their parent.
      childSeconds: (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined; // exited between the listing and the read
  }
}

/**
 * The machine's CPU seconds so far from /proc/stat: busy (every state but idle, iowait and steal)
 * and stolen (time the hypervisor gave this virtual machine's CPUs to someone else: when it is
 * high, wall-clock rates fall, and CPU time per event rises a little: caches go cold).
 */
async function machineSeconds(): Promise<{ busy: number; stolen: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return {
    busy: (user + nice + system + irq + softirq) / TICKS_PER_SECOND,
    stolen: steal / TICKS_PER_SECOND,
  };
}

/**
 * CPU seconds so far by label: `named` gives labels to pids (the services a bench started); the
 * stack is recognised by program name; `machine` is the whole machine's busy time.
 */
export async function cpuCensus(named: ReadonlyMap<number, string>): Promise<CpuCensus> {
  const census = new Map<string, number>();
  const add = (label: string, seconds: number) => census.set(label, (census.get(label) ?? 0) + seconds);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cpu = await processCpu(entry);
    if (cpu === undefined) continue;
    if (Number(entry) === process.pid) {
      add('bench (probes)', cpu.seconds);
      // The bench's waited-for children are its load generators: a k6 that has exited counts here.
      add(LOAD, cpu.childSeconds);
      continue;
    }
    const label = named.get(Number(entry)) ?? STACK_PROGRAMS[cpu.comm];
    if (label === undefined) continue;
    add(label, cpu.seconds + (label === 'postgres' ? cpu.childSeconds : 0));
  }
  census.set(MACHINE, (await machineSeconds()).busy);
  return census;
}

/** CPU µs per unit (an event, a request) by process between two censuses, largest first. */
export function cpuPerUnit(before: CpuCensus, after: CpuCensus, units: number): [string, number][] {
  const rows: [string, number][] = [];
  for (const [label, seconds] of after) {
    const spent = seconds - (before.get(label) ?? 0);
    rows.push([label, units > 0 ? Math.round((spent * 1e6) / units) : Number.NaN]);
  }
  return rows.sort((a, b) => b[1] - a[1]);
}

/**
 * Starts measuring the share (0 to 1) of the machine's CPU the hypervisor takes from now on: high,
 * and wall-clock rates fall (CPU time per event much less), so every bench prints it beside them.
 */
export async function stolenMeter(): Promise<{ share(): Promise<number> }> {
  const before = (await machineSeconds()).stolen;
  const started = performance.now();
  return {
    async share() {
      const seconds = (performance.now() - started) / 1000;
      const stolen = (await machineSeconds()).stolen - before;
      return seconds > 0 ? stolen / (availableParallelism() * seconds) : Number.NaN;
    },
  };
}
