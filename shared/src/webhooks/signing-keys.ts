// HMAC keys of a source's secrets, imported once per secret and algorithm (Web Crypto), so a
// delivery costs its MACs, not a key import each. Web APIs only.

import { utf8Bytes } from './codec.ts';
import type { MacAlgorithm } from './scheme.ts';
import type { Provider, SourceSecret } from './source.ts';
import { standardSecretBytes } from './source.ts';

const HASH: Record<MacAlgorithm, string> = { sha256: 'SHA-256', sha512: 'SHA-512' };

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** The key material of a secret: Standard Webhooks' is the base64 after `whsec_`, others' UTF-8. */
export function secretBytes(provider: Provider, secret: string): Uint8Array<ArrayBuffer> {
  if (provider === 'standard-webhooks') return standardSecretBytes(secret) ?? new Uint8Array();
  return utf8Bytes(secret);
}

// Keyed by the secret object: a reloaded source table holds new objects, and the old keys go with
// the old objects (no growth across reloads).
const imported = new WeakMap<SourceSecret, Map<MacAlgorithm, Promise<HmacKey>>>();

function keyOf(provider: Provider, secret: SourceSecret, algorithm: MacAlgorithm): Promise<HmacKey> {
  let byAlgorithm = imported.get(secret);
  if (byAlgorithm === undefined) {
    byAlgorithm = new Map();
    imported.set(secret, byAlgorithm);
  }
  let key = byAlgorithm.get(algorithm);
  if (key === undefined) {
    key = crypto.subtle.importKey(
      'raw',
      secretBytes(provider, secret.value),
      { name: 'HMAC', hash: HASH[algorithm] },
      false,
      ['sign'],
    );
    byAlgorithm.set(algorithm, key);
  }
  return key;
}

/**
 * How the MACs of a delivery are made: Web Crypto by default (the edge's runtimes); ingest passes
 * node:crypto's synchronous HMAC (node-macs.ts), ~10x less CPU than `subtle.sign`'s promise and
 * thread hop per MAC (./sluice bench webhooks measures both).
 */
export type MacsOf = (
  provider: Provider,
  secrets: readonly SourceSecret[],
  algorithm: MacAlgorithm,
  content: Uint8Array<ArrayBuffer>,
) => Promise<Uint8Array[]>;

/** The MAC of `content` under each secret, in order (Web Crypto). */
export async function macs(
  provider: Provider,
  secrets: readonly SourceSecret[],
  algorithm: MacAlgorithm,
  content: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array[]> {
  return Promise.all(
    secrets.map(async (secret) => {
      const key = await keyOf(provider, secret, algorithm);
      return new Uint8Array(await crypto.subtle.sign('HMAC', key, content));
    }),
  );
}
