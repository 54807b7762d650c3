// The compose stack (deploy/compose/compose.yaml; issue 26), checked on a machine with no container
// engine: it is valid against the Compose specification's JSON schema (the one compose-go, and so
// `docker compose`, loads files with; fetched by ./sluice test), and the validator does refuse a
// broken copy. Its start order is gated on health (a service waits for what it needs to pass a
// health check, declared here or in the service's image), every SLUICE_* variable a sluice service
// is given is one that service reads, images are pinned, no secret is written in the file (each is
// a ${VAR:?} from .env), and .env.example names every variable the file requires.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { instructions, ROOT, RUNTIME_VARIABLE, toolPath, variablesOf } from './deploy-files.ts';

const COMPOSE_DIR = join(ROOT, 'deploy/compose');
const text = readFileSync(join(COMPOSE_DIR, 'compose.yaml'), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
}
const compose = parse(text, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** The sluice service a compose service runs, read from the Dockerfile it is built from. */
const SLUICE_SERVICE: Readonly<Record<string, string>> = {
  'ingest.Dockerfile': 'ingest',
  'processor.Dockerfile': 'processor',
  'query.Dockerfile': 'query',
  'edge-deno.Dockerfile': 'edge',
  'edge-bun.Dockerfile': 'edge',
};
const sluiceServiceOf = (s: Service): string | undefined =>
  s.build === undefined ? undefined : SLUICE_SERVICE[s.build.dockerfile.split('/').at(-1) ?? ''];

function validator() {
  const schema = JSON.parse(readFileSync(toolPath('SLUICE_COMPOSE_SCHEMA'), 'utf8')) as object;
  // Formats (durations, ports) are compose-go's own names; the structure and types are what count.
  // YAML merge keys (<<) are resolved first, as compose-go resolves them before it validates.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(schema);
}

test("compose.yaml is valid against the Compose specification's schema; a broken copy is not", () => {
  const validate = validator();
  assert.equal(validate(parse(text, { merge: true })), true, JSON.stringify(validate.errors, null, 2));
  const broken = parse(text, { merge: true }) as { services: Record<string, Record<string, unknown>> };
  const ingest = broken.services.ingest;
  assert.ok(ingest);
  ingest.depends_on = 5;
  ingest.ports = { web: 8080 };
  assert.equal(validate(broken), false);
  assert.ok((validate.errors ?? []).some((e) => e.instancePath.startsWith('/services/ingest')));
});

test('the start order is gated on health', () => {
  // Tracing is best effort (spans before Jaeger listens are dropped), and its image has no shell
  // to probe itself with: the one dependency waited for only to start.
  const startedOnly = new Set(['jaeger']);
  for (const [name, service] of Object.entries(services)) {
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      const target = services[dependency];
      assert.ok(target, `${name} depends on unknown ${dependency}`);
      if (condition === 'service_started') {
        assert.ok(startedOnly.has(dependency), `${name} waits for ${dependency} only to start`);
        continue;
      }
      assert.equal(condition, 'service_healthy', `${name} -> ${dependency}`);
      const imageCheck =
        target.build !== undefined &&
        instructions(readFileSync(join(ROOT, target.build.dockerfile), 'utf8')).some(
          (s) => s.keyword === 'HEALTHCHECK',
        );
      assert.ok(target.healthcheck !== undefined || imageCheck, `${dependency} has a health check`);
    }
  }
  // The pipeline's stores are each waited for by the services that use them.
  assert.deepEqual(Object.keys(services.processor?.depends_on ?? {}).sort(), [
    'jaeger',
    'kafka',
    'postgres',
    'redis',
  ]);
  assert.equal(services.edge?.depends_on?.ingest?.condition, 'service_healthy');
});

test('every SLUICE_* variable given to a sluice service is one it reads', () => {
  let checked = 0;
  for (const [name, service] of Object.entries(services)) {
    const sluice = sluiceServiceOf(service);
    if (sluice === undefined) continue;
    const known = variablesOf(sluice);
    for (const variable of Object.keys(service.environment ?? {})) {
      if (RUNTIME_VARIABLE.test(variable)) continue;
      assert.ok(known.has(variable), `${name} is given ${variable}, which sluice-${sluice} does not read`);
      checked += 1;
    }
  }
  assert.ok(checked > 20, `${checked} variables checked`);
});

test('images are pinned; no secret is written in the file; .env.example names what is required', () => {
  for (const [name, service] of Object.entries(services)) {
    if (service.build !== undefined) continue;
    assert.match(
      service.image ?? '',
      /^[a-z0-9./-]+:\d+\.\d+(\.\d+)?[a-z0-9.-]*$/,
      `${name}: ${service.image}`,
    );
  }
  for (const [name, service] of Object.entries(services))
    for (const [variable, value] of Object.entries(service.environment ?? {})) {
      if (/PASSWORD|SECRET|_KEY$/.test(variable))
        assert.match(String(value), /^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$/, `${name}.${variable} comes from .env`);
      if (/^postgres:\/\//.test(String(value)))
        assert.match(
          String(value),
          /^postgres:\/\/[^:]+:\$\{POSTGRES_PASSWORD/,
          `${name}.${variable}'s password`,
        );
    }
  const required = new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]));
  const example = readFileSync(join(COMPOSE_DIR, '.env.example'), 'utf8');
  for (const variable of required)
    assert.match(example, new RegExp(`^${variable}=`, 'm'), `.env.example: ${variable}`);
  assert.ok(required.has('POSTGRES_PASSWORD') && required.has('SLUICE_SECRETS_KEY'));
});
