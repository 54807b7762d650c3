// The edge's configuration as a container platform passes it (issue 26): an empty
// SLUICE_EDGE_INGEST_KEY (a compose file's `${SLUICE_EDGE_INGEST_KEY:-}` before the key is made)
// is unset, so auth off starts and auth on is refused naming the key it needs; a malformed key is
// refused either way.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '@sluice/shared/config';
import { edgeConfigSchema } from '../src/config.ts';

const base = { SLUICE_INGEST_URL: 'http://ingest:8080' };

test('an empty relay key is unset: fine with auth off, named as required with auth on', () => {
  assert.equal(
    parseConfig(edgeConfigSchema, { ...base, SLUICE_AUTH: 'off', SLUICE_EDGE_INGEST_KEY: '' }).ok,
    true,
  );
  const on = parseConfig(edgeConfigSchema, { ...base, SLUICE_AUTH: 'on', SLUICE_EDGE_INGEST_KEY: '' });
  assert.equal(on.ok, false);
  assert.match(on.ok ? '' : on.error.join('\n'), /SLUICE_EDGE_INGEST_KEY: required when SLUICE_AUTH=on/);
});

test('a relay key that is not an API key is refused', () => {
  const bad = parseConfig(edgeConfigSchema, {
    ...base,
    SLUICE_AUTH: 'off',
    SLUICE_EDGE_INGEST_KEY: 'hunter2',
  });
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error.join('\n'), /SLUICE_EDGE_INGEST_KEY: expected an API key/);
});
