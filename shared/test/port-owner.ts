// Which process listens on a TCP port, read from Linux's /proc (the harness runs on Linux): a
// service is only taken as started when the answer to its probe comes from its own process. A free
// port found by binding port 0 is free only until someone else binds it; another test's service
// started at the same moment can take it, and its /healthz would answer for ours.

import { readdir, readFile, readlink } from 'node:fs/promises';

/** 0A: TCP_LISTEN in /proc/net/tcp's `st` column. */
const LISTEN = '0A';

/** The socket inodes listening on `port` (IPv4 and IPv6, any address); undefined without /proc. */
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
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(inode);
    }
  }
  return read ? inodes : undefined;
}

/**
 * Whether process `pid` holds a socket listening on `port`; undefined where the system has no
 * /proc to tell (not Linux: the caller falls back to trusting the answer, as before this check).
 */
export async function listensOn(pid: number, port: number): Promise<boolean | undefined> {
  const inodes = await listenerInodes(port);
  if (inodes === undefined) return undefined;
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}
