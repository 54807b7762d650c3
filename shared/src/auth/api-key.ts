// API keys: `slk_<id>_<secret>`, a recognisable prefix (secret scanners can match it, as GitHub's
// `ghp_` or Stripe's `sk_live_`), a public id, and 256 random bits. Web APIs only: the edge parses
// and hashes keys too. Only the SHA-256 of a key is stored (issue 21: hashed at rest); with 256
// bits of entropy a slow password hash would add nothing but cost per request.

export const KEY_PREFIX = 'slk_';
const ID_PATTERN = /^[a-z2-7]{16}$/;
/** The whole shape of a key; anything else is refused before it is hashed or looked up. */
const KEY_PATTERN = /^slk_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += BASE32[byte & 31];
  return out;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export interface NewKey {
  readonly id: string;
  readonly key: string;
}

/** A fresh key: 80 bits of id (public) and 256 bits of secret, from the platform's CSPRNG. */
export function generateKey(): NewKey {
  const id = base32(crypto.getRandomValues(new Uint8Array(16)));
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { id, key: `${KEY_PREFIX}${id}_${secret}` };
}

export const isKeyId = (value: string): boolean => ID_PATTERN.test(value);

/** The key's public id, or undefined when the text is not shaped like a key. */
export function keyIdOf(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

/**
 * The key in an `Authorization: Bearer <key>` header; undefined when the header is absent, not
 * Bearer, or not shaped like a key (so no hostile header is hashed, looked up or logged).
 */
export function bearerKey(header: string | undefined | null): string | undefined {
  if (header === undefined || header === null || header.length > 128) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  const key = match?.[1];
  return key !== undefined && KEY_PATTERN.test(key) ? key : undefined;
}

/** Lowercase hex SHA-256 of the key: what PostgreSQL keeps, and the edge's cache key. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
