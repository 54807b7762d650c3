// Which process listens on a TCP port, read from Linux's /proc (the harness runs on Linux): a
// service is only taken as started when the answer to its probe comes from its own process. A free
// port found by binding port 0 is free only until someone else binds it; another test's service
// started at the same moment can take it, and its /healthz would answer for ours.

import { readdir, readFile, readlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

/** 0A: TCP_LISTEN in /proc/net/tcp's `st` column. */
const LISTEN = '0A';

/**
 * The local addresses (as /proc/net/tcp{,6} print them) a connection to 127.0.0.1 reaches:
 * 127.0.0.1, 0.0.0.0, :: and ::ffff:127.0.0.1. A listener on another address (::1, 127.0.0.2)
 * is not the one the harness's URL talks to.
 */
const REACHED = new Set([
  '0100007F',
  '00000000',
  '00000000000000000000000000000000',
  '0000000000000000FFFF00000100007F',
]);

/** The socket inodes listening on 127.0.0.1:`port` (or any address); undefined without /proc. */
async function listenerInodes(port: number): Promise<Set<string> | undefined> {
  const inodes = new Set<string>();
  let read = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    read = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const inode = fields[9];
      if (local === undefined || inode === undefined || fields[3] !== LISTEN) continue;
      const colon = local.lastIndexOf(':');
      if (!REACHED.has(local.slice(0, colon).toUpperCase())) continue;
      if (Number.parseInt(local.slice(colon + 1), 16) === port) inodes.add(inode);
    }
  }
  return read ? inodes : undefined;
}

/** Whether process `pid` holds one of `inodes` among its open files. */
async function holdsOne(pid: number, inodes: ReadonlySet<string>): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}

let seesOwners: Promise<boolean> | undefined;

/**
 * Whether this system's /proc shows who listens where: checked once, on a listener of this
 * process's own (some sandboxes have the tables but list nothing, or hide other fds).
 */
function procShowsOwners(): Promise<boolean> {
  seesOwners ??= (async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const inodes = await listenerInodes(port);
      return inodes !== undefined && (await holdsOne(process.pid, inodes));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  })();
  return seesOwners;
}

/**
 * Whether process `pid` holds a socket listening on `port` where 127.0.0.1 reaches it; undefined
 * where /proc cannot tell (not Linux, or a sandbox's: the caller trusts the answer, as before).
 */
export async function listensOn(pid: number, port: number): Promise<boolean | undefined> {
  if (!(await procShowsOwners())) return undefined;
  const inodes = await listenerInodes(port);
  if (inodes === undefined) return undefined;
  return inodes.size > 0 && (await holdsOne(pid, inodes));
}
