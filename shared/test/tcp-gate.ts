// A TCP relay for integration tests that can hold what a client sends: while held, the client's
// bytes are kept here, not forwarded, so its requests wait in flight for as long as a test needs
// (a worker's Redis command stuck while the group moves its partitions elsewhere), then are
// forwarded in order on release. Replies always flow. Test-only: it buffers without bound.

import type { AddressInfo, Socket } from 'node:net';
import { connect, createServer } from 'node:net';

export interface TcpGate {
  readonly port: number;
  /** From now on, keeps what clients send instead of forwarding it. */
  hold(): void;
  /** Forwards what was kept, in order, and everything after. */
  release(): void;
  /** What clients sent while held and is not forwarded yet (RESP and most protocols read as text). */
  held(): string;
  close(): Promise<void>;
}

export async function tcpGate(upstream: { host: string; port: number }): Promise<TcpGate> {
  let holding = false;
  const kept: { to: Socket; chunk: Buffer }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const server = connect(upstream.port, upstream.host);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (holding) kept.push({ to: server, chunk });
      else server.write(chunk);
    });
    server.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const { to, chunk } of kept.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    held: () => Buffer.concat(kept.map((k) => k.chunk)).toString('latin1'),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
