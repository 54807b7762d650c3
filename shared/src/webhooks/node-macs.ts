// The MACs of a delivery with node:crypto's synchronous HMAC: what ingest verifies with.
// The same bytes as signing-keys.ts's Web Crypto `macs` (a unit test holds them equal), for a
// tenth of the CPU: `subtle.sign` pays a promise and a thread hop per MAC. node:crypto: Node and Bun, not the edge.

import { createHmac } from 'node:crypto';
import type { MacsOf } from './signing-keys.ts';
import { usableSecrets } from './signing-keys.ts';

export const nodeMacs: MacsOf = async (provider, secrets, algorithm, content) =>
  usableSecrets(provider, secrets).map(
    ({ bytes }) => new Uint8Array(createHmac(algorithm, bytes).update(content).digest()),
  );
