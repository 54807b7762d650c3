// The container images (deploy/docker; issue 26), checked on a machine with no container engine:
// hadolint (the Dockerfile linter, fetched by ./sluice test) passes every Dockerfile with no finding
// at any level, and each Dockerfile has what the README promises: base images pinned to an exact
// version, a build stage and a runtime stage, a non-root numeric user, exec-form ENTRYPOINT and CMD
// (SIGTERM reaches the service, which drains), a HEALTHCHECK, and the runtime and entry point that
// tools/services/launch.ts gives the service. The .dockerignore keeps node_modules, .git and the
// stack's data out of the build context.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Runtime, ServiceName } from '../../tools/services/launch.ts';
import { launchOf } from '../../tools/services/launch.ts';
import type { Instruction } from './deploy-files.ts';
import { instructions, ROOT, run, toolPath, variablesOf } from './deploy-files.ts';

const DOCKER = join(ROOT, 'deploy/docker');
const IMAGES: Readonly<Record<string, { service: ServiceName; runtime: Runtime }>> = {
  'ingest.Dockerfile': { service: 'ingest', runtime: 'bun' },
  'ingest-node.Dockerfile': { service: 'ingest', runtime: 'node' },
  'processor.Dockerfile': { service: 'processor', runtime: 'bun' },
  'query.Dockerfile': { service: 'query', runtime: 'bun' },
  'edge-deno.Dockerfile': { service: 'edge', runtime: 'deno' },
  'edge-bun.Dockerfile': { service: 'edge', runtime: 'bun' },
};

const dockerfiles = readdirSync(DOCKER).filter((f) => f.endsWith('.Dockerfile'));

test('one Dockerfile per service and runtime', () => {
  assert.deepEqual(dockerfiles.sort(), Object.keys(IMAGES).sort());
});

test('hadolint passes every Dockerfile with no finding at any level', async () => {
  const hadolint = toolPath('SLUICE_HADOLINT_BIN');
  for (const file of dockerfiles) {
    const result = await run(hadolint, ['--failure-threshold', 'info', join(DOCKER, file)]);
    assert.equal(result.code, 0, `${file}:\n${result.output}`);
  }
});

test('hadolint refuses an unpinned, root, shell-form image (the check can fail)', async () => {
  const hadolint = toolPath('SLUICE_HADOLINT_BIN');
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'hadolint-'));
  try {
    await writeFile(
      join(dir, 'Dockerfile'),
      'FROM node:latest\nRUN apt-get install curl\nCMD node main.js\n',
    );
    const result = await run(hadolint, [join(dir, 'Dockerfile')]);
    assert.notEqual(result.code, 0);
    assert.match(result.output, /DL3007/); // latest
    assert.match(result.output, /DL3025/); // CMD in shell form
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const [file, { service, runtime }] of Object.entries(IMAGES)) {
  test(`${file}: pinned bases, two stages, non-root, exec form, health check, ${runtime} running ${service}`, () => {
    const steps = instructions(readFileSync(join(DOCKER, file), 'utf8'));
    const froms = steps.filter((s) => s.keyword === 'FROM');
    assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
    for (const from of froms) {
      const image = from.args.split(/\s+/)[0] ?? '';
      assert.match(
        image,
        /^[a-z0-9./-]+:([a-z]+-)?\d+\.\d+\.\d+[a-z0-9.-]*$/,
        `${image}: an exact version tag`,
      );
      assert.doesNotMatch(image, /:latest$/);
    }
    const runtimeStage = steps.slice(steps.lastIndexOf(froms[froms.length - 1] as Instruction));
    const user = runtimeStage.filter((s) => s.keyword === 'USER').at(-1)?.args ?? '';
    assert.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, `USER ${user}: a numeric, non-root user`);
    const entrypoint = runtimeStage.find((s) => s.keyword === 'ENTRYPOINT')?.args ?? '';
    const cmd = runtimeStage.find((s) => s.keyword === 'CMD')?.args ?? '';
    for (const form of [entrypoint, cmd]) assert.ok(Array.isArray(JSON.parse(form)), `${form}: exec form`);
    assert.ok(runtimeStage.some((s) => s.keyword === 'HEALTHCHECK'));
    assert.ok(runtimeStage.some((s) => s.keyword === 'STOPSIGNAL' && s.args === 'SIGTERM'));
    assert.ok(runtimeStage.some((s) => s.keyword === 'EXPOSE'));

    // The entry point is launch.ts's for this service and runtime, with the image's /app as root.
    const launch = launchOf(service, runtime, '', '');
    const words = JSON.parse(entrypoint) as string[];
    assert.equal(words[0], launch.command);
    assert.deepEqual(
      words.slice(1).map((w) => w.replace(/^\.\//, '')),
      launch.args.map((a) => a.replace(/^\.\//, '')),
    );
    // Every SLUICE_* variable the image sets is one the service reads.
    const known = variablesOf(service);
    for (const env of runtimeStage.filter((s) => s.keyword === 'ENV'))
      for (const name of env.args.match(/\bSLUICE_[A-Z0-9_]+(?==)/g) ?? [])
        assert.ok(known.has(name), `${file} sets ${name}, which sluice-${service} does not read`);
  });
}

test('.dockerignore keeps node_modules, .git, the stack data and env files out of the context', () => {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const entry of ['.git', '.sluice', '**/node_modules', '.env']) assert.ok(lines.includes(entry), entry);
});
