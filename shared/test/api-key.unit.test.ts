// API key format: recognisable, high-entropy, and only well-shaped Bearer headers are taken.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerKey, generateKey, hashKey, isKeyId, KEY_PREFIX, keyIdOf } from '../src/auth/api-key.ts';
import { hashKeySync } from '../src/auth/key-store.ts';
import { secretOf } from './keys.ts';

describe('API keys', () => {
  it('are slk_<id>_<secret> with a fresh id and secret each time', () => {
    const a = generateKey();
    const b = generateKey();
    assert.ok(a.key.startsWith(KEY_PREFIX));
    assert.match(a.key, /^slk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.key, b.key);
    assert.notEqual(a.id, b.id);
    assert.equal(keyIdOf(a.key), a.id);
    assert.ok(isKeyId(a.id));
  });

  it('secrets use every base64url character over many keys (256 random bits, not a narrow alphabet)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i += 1) for (const ch of secretOf(generateKey().key)) seen.add(ch);
    assert.ok(seen.size >= 60, `only ${seen.size} distinct characters`);
  });

  it('hash the same in the Web API (edge) and Node (services)', async () => {
    const { key } = generateKey();
    assert.equal(await hashKey(key), hashKeySync(key));
    assert.match(hashKeySync(key), /^[0-9a-f]{64}$/);
  });

  it('are taken from a Bearer header only when shaped like a key', () => {
    const { key } = generateKey();
    assert.equal(bearerKey(`Bearer ${key}`), key);
    assert.equal(bearerKey(`bearer ${key}`), key);
    for (const header of [
      undefined,
      null,
      '',
      key,
      `Basic ${key}`,
      `Bearer ${key}x`,
      `Bearer ${key.slice(0, -1)}`,
      `Bearer ${key} extra`,
      `Bearer ${'a'.repeat(10_000)}`,
      `Bearer slk_${'A'.repeat(16)}_${'b'.repeat(43)}`,
      `Bearer ${key}\u0000`,
    ])
      assert.equal(bearerKey(header), undefined, String(header).slice(0, 40));
  });
});
