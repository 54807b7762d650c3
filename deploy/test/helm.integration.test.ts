// The Helm chart (deploy/helm/sluice; issue 26), checked on a machine with no Kubernetes cluster:
// `helm lint --strict` passes and `helm template` renders for a minimal and an everything-on set of
// values (deploy/helm/sluice/ci), and every rendered object is valid against the Kubernetes schemas
// (kubernetes-models; KEDA's ScaledObject, a CRD, by its required fields), which do refuse a broken
// object. The properties the chart promises hold: readiness apart from liveness, non-root and
// read-only containers with resources, an HPA for edge, ingest and query but not the processor, a
// PodDisruptionBudget per Deployment, secrets only in a Secret, each container given only
// variables its service reads, and more processor replicas than partitions refused by name.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT, RUNTIME_VARIABLE, run, toolPath, variablesOf } from './deploy-files.ts';

const CHART = join(ROOT, 'deploy/helm/sluice');
const VALUE_SETS = ['ci/minimal-values.yaml', 'ci/managed-values.yaml'] as const;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    resourceFieldRef?: { containerName?: string; resource: string };
  };
}
interface Container {
  name: string;
  image?: string;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: object; limits?: object };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  automountServiceAccountToken?: boolean;
}

/** `helm template` of the chart with a value file and --set overrides; its exit is a value. */
function templateRun(values: string, ...set: string[]) {
  return run(toolPath('SLUICE_HELM_BIN'), [
    'template',
    'sluice',
    CHART,
    '-f',
    join(CHART, values),
    ...set.flatMap((s) => ['--set', s]),
  ]);
}

async function template(values: string, ...set: string[]): Promise<K8sObject[]> {
  const result = await templateRun(values, ...set);
  assert.equal(result.code, 0, result.output);
  return parseAllDocuments(result.output)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

type Validator = new (data: unknown) => { validate(): void };

/** The kubernetes-models class of an object's apiVersion and kind. */
async function modelOf(o: K8sObject): Promise<Validator> {
  const module = (await import(`kubernetes-models/${o.apiVersion}`)) as Record<string, unknown>;
  const model = module[o.kind];
  assert.equal(typeof model, 'function', `no model for ${o.apiVersion} ${o.kind}`);
  return model as Validator;
}

function podOf(o: K8sObject): PodSpec {
  const template = o.spec?.template as { spec: PodSpec } | undefined;
  assert.ok(template, `${o.metadata.name} has a pod template`);
  return template.spec;
}
const deployments = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment');
const componentOf = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';

for (const values of VALUE_SETS) {
  test(`helm lint --strict passes with ${values}`, async () => {
    const result = await run(toolPath('SLUICE_HELM_BIN'), [
      'lint',
      '--strict',
      CHART,
      '-f',
      join(CHART, values),
    ]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test(`every object rendered with ${values} is valid against the Kubernetes schemas`, async () => {
    const objects = await template(values);
    for (const o of objects) {
      if (o.apiVersion === 'keda.sh/v1alpha1') {
        // A CRD, not in the Kubernetes schemas: its required fields by hand.
        assert.equal(o.kind, 'ScaledObject');
        const spec = o.spec as {
          scaleTargetRef?: { name?: string };
          triggers?: { type: string; metadata: object }[];
        };
        assert.ok(spec.scaleTargetRef?.name, 'scaleTargetRef.name');
        assert.ok((spec.triggers ?? []).length > 0 && spec.triggers?.every((t) => t.type === 'kafka'));
        continue;
      }
      const Model = await modelOf(o);
      assert.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
    }
  });

  test(`the chart's promises hold with ${values}`, async () => {
    const objects = await template(values);
    const deploys = deployments(objects);
    assert.deepEqual(deploys.map(componentOf).sort(), ['edge', 'ingest', 'processor', 'query']);
    for (const d of deploys) {
      const pod = podOf(d);
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.equal(pod.automountServiceAccountToken, false);
      for (const c of pod.containers) {
        assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${d.metadata.name} readiness`);
        assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${d.metadata.name} liveness`);
        assert.ok(c.resources?.requests && c.resources.limits, `${d.metadata.name} resources`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
        // A pause before the drain, and time for the drain (30 s at most) after it.
        assert.deepEqual(c.lifecycle?.preStop?.exec?.command, ['sleep', '5']);
        assert.ok((pod.terminationGracePeriodSeconds ?? 0) > 35, `${d.metadata.name} grace period`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
        const known = variablesOf(componentOf(d));
        for (const v of c.env ?? [])
          assert.ok(
            known.has(v.name) || RUNTIME_VARIABLE.test(v.name),
            `${d.metadata.name} is given ${v.name}, which its service does not read`,
          );
      }
    }
    const scaled = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map(componentOf);
    assert.deepEqual(scaled.sort(), ['edge', 'ingest', 'query']);
    assert.deepEqual(
      objects
        .filter((o) => o.kind === 'PodDisruptionBudget')
        .map(componentOf)
        .sort(),
      ['edge', 'ingest', 'processor', 'query'],
    );
    // Secrets only as references: no Deployment carries a secret's value, and no ConfigMap exists
    // to put one in by mistake.
    const secretVars =
      /^SLUICE_(DATABASE_URL|REDIS_URL|CACHE_REDIS_URL|SECRETS_KEY|KAFKA_SASL_PASSWORD|EDGE_INGEST_KEY)$/;
    for (const d of deploys)
      for (const v of podOf(d).containers.flatMap((c) => c.env ?? []))
        if (secretVars.test(v.name)) assert.ok(v.valueFrom?.secretKeyRef && v.value === undefined, v.name);
    assert.equal(objects.filter((o) => o.kind === 'ConfigMap').length, 0);
  });
}

// Bun sizes its heap's growth by the RAM it sees (the node's), not by the container's limit: a
// processor at full rate grew to ~720 MiB here, unbounded by its pod. Each Bun container is told
// its limit (BUN_JSC_forceRAMSize, Bun's --max-old-space-size); Node and Deno containers are not.
test('a container on Bun is given its memory limit as the RAM its garbage collector sizes for', async () => {
  for (const [edge, ingest, bun] of [
    ['deno', 'bun', ['ingest', 'processor', 'query']],
    ['bun', 'bun', ['edge', 'ingest', 'processor', 'query']],
    ['deno', 'node', ['processor', 'query']],
  ] as const) {
    const objects = await template(VALUE_SETS[0], `edge.runtime=${edge}`, `ingest.runtime=${ingest}`);
    for (const d of deployments(objects)) {
      const container = podOf(d).containers[0];
      const ram = container?.env?.find((v) => v.name === 'BUN_JSC_forceRAMSize');
      const on = `${componentOf(d)} with the edge on ${edge} and ingest on ${ingest}`;
      if ((bun as readonly string[]).includes(componentOf(d)))
        assert.deepEqual(
          ram?.valueFrom?.resourceFieldRef,
          { containerName: componentOf(d), resource: 'limits.memory' },
          on,
        );
      else assert.equal(ram, undefined, on);
    }
  }
});

test("each runtime choice picks its image: ingest's bun (the default) or node, the edge's deno or bun", async () => {
  const imageOf = (objects: K8sObject[], component: string) => {
    const deployment = deployments(objects).find((d) => componentOf(d) === component);
    assert.ok(deployment, component);
    return podOf(deployment).containers[0]?.image ?? '';
  };
  const defaults = await template(VALUE_SETS[0]);
  assert.match(imageOf(defaults, 'ingest'), /(^|\/)sluice-ingest:/);
  assert.match(imageOf(defaults, 'edge'), /(^|\/)sluice-edge-deno:/);
  const other = await template(VALUE_SETS[0], 'ingest.runtime=node', 'edge.runtime=bun');
  assert.match(imageOf(other, 'ingest'), /(^|\/)sluice-ingest-node:/);
  assert.match(imageOf(other, 'edge'), /(^|\/)sluice-edge-bun:/);
  const refused = await templateRun(VALUE_SETS[0], 'ingest.runtime=deno');
  assert.notEqual(refused.code, 0);
});

test('the minimal values put the given secrets in the Secret and nowhere else', async () => {
  const objects = await template(VALUE_SETS[0]);
  const secret = objects.find((o) => o.kind === 'Secret');
  assert.ok(secret?.stringData);
  const values = Object.values(secret.stringData).filter((v) => v !== '');
  assert.equal(values.length, 4);
  const elsewhere = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
  for (const value of values) assert.ok(!elsewhere.includes(value), 'a secret outside the Secret');
});

test('the managed values: SASL_SSL with its password from the Secret, the CA mounted, KEDA up to the partitions', async () => {
  const objects = await template(VALUE_SETS[1]);
  const processor = deployments(objects).find((d) => componentOf(d) === 'processor');
  assert.ok(processor);
  assert.equal(processor.spec?.replicas, undefined, 'KEDA owns the replica count');
  const env = new Map((podOf(processor).containers[0]?.env ?? []).map((v) => [v.name, v]));
  assert.equal(env.get('SLUICE_KAFKA_SECURITY_PROTOCOL')?.value, 'SASL_SSL');
  assert.equal(env.get('SLUICE_KAFKA_SASL_MECHANISM')?.value, 'SCRAM-SHA-512');
  assert.deepEqual(env.get('SLUICE_KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef, {
    name: 'sluice-credentials',
    key: 'kafkaSaslPassword',
    optional: false,
  });
  assert.equal(env.get('SLUICE_KAFKA_CA_FILE')?.value, '/etc/sluice/ca/ca.pem');
  assert.equal(env.get('SLUICE_REDIS_CA_FILE')?.value, '/etc/sluice/ca/ca.pem');
  const keda = objects.find((o) => o.kind === 'ScaledObject');
  assert.ok(keda?.spec);
  assert.equal((keda.spec as { maxReplicaCount?: number }).maxReplicaCount, 12);
  assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0, 'the existing Secret is used');
});

test('the Ingress routes the APIs and the dashboard, never the metrics or the probes', async () => {
  const objects = await template(VALUE_SETS[1]);
  const ingress = objects.find((o) => o.kind === 'Ingress');
  assert.ok(ingress?.spec);
  const rules = (ingress.spec as { rules: { http: { paths: { path: string; pathType: string }[] } }[] })
    .rules;
  const paths = rules.flatMap((r) => r.http.paths);
  const reaches = (url: string) =>
    paths.some((p) => (p.pathType === 'Exact' ? url === p.path : url.startsWith(p.path)));
  for (const url of ['/metrics', '/healthz', '/readyz', '/status']) assert.equal(reaches(url), false, url);
  for (const url of [
    '/',
    '/v1/events',
    '/v1/webhooks/src_1',
    '/v1/streams/ecommerce/windows',
    '/assets/app.js',
    '/docs',
  ])
    assert.equal(reaches(url), true, url);
});

test('KEDA on a secured Kafka without its TriggerAuthentication is refused, naming the value', async () => {
  const result = await templateRun(VALUE_SETS[1], 'processor.keda.authenticationRef=');
  assert.notEqual(result.code, 0);
  assert.match(result.output, /processor\.keda\.authenticationRef is required with a secured Kafka/);
});

test('more processor replicas than partitions is refused, naming the limit', async () => {
  const result = await templateRun(VALUE_SETS[0], 'processor.replicas=13', 'kafka.partitions=12');
  assert.notEqual(result.code, 0);
  assert.match(result.output, /processor\.replicas \(13\) must be at most kafka\.partitions \(12\)/);
});

test('values the schema refuses are named; the Kubernetes validator refuses a broken object', async () => {
  const bad = await templateRun(VALUE_SETS[0], 'kafka.securityProtocol=SASL_TLS');
  assert.notEqual(bad.code, 0);
  assert.match(bad.output, /securityProtocol/);
  const [deployment] = deployments(await template(VALUE_SETS[0]));
  assert.ok(deployment);
  const Model = await modelOf(deployment);
  const broken = structuredClone(deployment) as K8sObject & { spec: { replicas?: unknown } };
  broken.spec.replicas = 'three';
  assert.throws(() => new Model(broken).validate(), /replicas/);
});
