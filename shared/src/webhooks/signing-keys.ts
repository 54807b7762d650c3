// HMAC keys of a source's secrets, imported once per secret and algorithm (Web Crypto), so a
// delivery costs its MACs, not a key import each. Web APIs only.

import { utf8Bytes } from './codec.ts';
import type { MacAlgorithm } from './scheme.ts';
import type { Provider, SourceSecret } from './source.ts';
import { standardSecretBytes } from './source.ts';

const HASH: Record<MacAlgorithm, string> = { sha256: 'SHA-256', sha512: 'SHA-512' };

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/**
 * The key material of a secret: Standard Webhooks' is the base64 after `whsec_`, others' UTF-8.
 * Undefined for one that makes no key (fails closed: an empty key is a MAC anyone can compute).
 */
export function secretBytes(provider: Provider, secret: string): Uint8Array<ArrayBuffer> | undefined {
  const bytes = provider === 'standard-webhooks' ? standardSecretBytes(secret) : utf8Bytes(secret);
  return bytes === undefined || bytes.length === 0 ? undefined : bytes;
}

/** The secrets that make a key, with their key material: what any MAC is computed with. */
export function usableSecrets(
  provider: Provider,
  secrets: readonly SourceSecret[],
): { readonly secret: SourceSecret; readonly bytes: Uint8Array<ArrayBuffer> }[] {
  return secrets.flatMap((secret) => {
    const bytes = secretBytes(provider, secret.value);
    return bytes === undefined ? [] : [{ secret, bytes }];
  });
}

// Keyed by the secret object: a reloaded source table holds new objects, and the old keys go with
// the old objects (no growth across reloads).
const imported = new WeakMap<SourceSecret, Map<MacAlgorithm, Promise<HmacKey>>>();

function keyOf(
  secret: SourceSecret,
  bytes: Uint8Array<ArrayBuffer>,
  algorithm: MacAlgorithm,
): Promise<HmacKey> {
  let byAlgorithm = imported.get(secret);
  if (byAlgorithm === undefined) {
    byAlgorithm = new Map();
    imported.set(secret, byAlgorithm);
  }
  let key = byAlgorithm.get(algorithm);
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: HASH[algorithm] }, false, ['sign']);
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
    usableSecrets(provider, secrets).map(async ({ secret, bytes }) => {
      const key = await keyOf(secret, bytes, algorithm);
      return new Uint8Array(await crypto.subtle.sign('HMAC', key, content));
    }),
  );
}
