// CloudEvents from the CloudEvents JavaScript SDK (issue 22, item 5), sent as Knative, Argo Events
// and Dapr send them: binary content mode (the SDK's default emitter, and HTTP.binary) and
// structured mode (HTTP.structured), with an API key, to ingest and to the edge on Deno and on Bun
// (real processes, auth on). Each answers 202 only after Kafka acknowledged, and the record holds
// the event's stream (ce-type), id, source, time, tenant (the key's; ce-tenant checked against it)
// and data. A binary-mode request with a text/plain body is a 415 and nothing of it is written.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import { topicNames } from '@sluice/shared/streams/registry';
import { CloudEvent, emitterFor, HTTP, httpTransport } from 'cloudevents';
import { stackEnv, uniqueName } from '../../shared/test/harness.ts';
import { readTopic } from '../../shared/test/kafka-read.ts';
import { bearer, createTestKey } from '../../shared/test/keys.ts';
import type { Runtime, ServiceHandle, TestPipeline } from '../../shared/test/services.ts';
import { testPipeline } from '../../shared/test/services.ts';
import { makeTransaction, seededRandom } from '../../tools/ecommerce-data.ts';

const TENANT = 'acme';
type Target = 'ingest' | 'edge-deno' | 'edge-bun';
const TARGETS: Target[] = ['ingest', 'edge-deno', 'edge-bun'];

let p: TestPipeline;
let writer: CreatedKey;
const services = new Map<Target, ServiceHandle>();

before(async () => {
  p = await testPipeline('cloudevents', { SLUICE_AUTH: 'on' });
  writer = await createTestKey(p.iso.databaseUrl, { tenant: TENANT, scopes: ['events:write'] });
  const relay = await createTestKey(p.iso.databaseUrl, { tenant: 'sluice-edge', scopes: ['events:relay'] });
  const ingest = await p.start('ingest');
  services.set('ingest', ingest);
  for (const runtime of ['deno', 'bun'] as Runtime[]) {
    const edge = await p.start(
      'edge',
      { SLUICE_INGEST_URL: ingest.url, SLUICE_EDGE_INGEST_KEY: relay.key },
      runtime,
    );
    services.set(`edge-${runtime}` as Target, edge);
  }
});

after(async () => {
  await p?.close();
});

function urlOf(target: Target): string {
  const service = services.get(target);
  if (service === undefined) throw new Error(`no ${target}`);
  return `${service.url}/v1/events`;
}

const random = seededRandom(22);
const run = uniqueName('ce');

/** What an event must be in Kafka: checked once every request was answered. */
interface Expected {
  readonly what: string;
  readonly id: string;
  readonly source: string;
  readonly time: number;
  readonly data: Record<string, unknown>;
}
const expected: Expected[] = [];

/** A CloudEvent of the ecommerce stream, its time a minute ago (also its payload's time field). */
function ecommerce(tag: string, extra: Record<string, unknown> = {}) {
  const id = `${run}-${tag}`;
  const at = Date.now() - 60_000;
  const data: Record<string, unknown> = { ...makeTransaction(random, id, at) };
  const event = new CloudEvent({
    id,
    source: `/shop/${tag}`,
    type: 'ecommerce',
    time: new Date(at).toISOString(),
    data,
    ...extra,
  });
  return { event, id, data, time: Date.parse(String(data.timestamp)) };
}

/** The SDK's message as fetch headers (its header values are strings; others are dropped). */
function headersOf(
  message: { headers: Record<string, unknown> },
  extra: Record<string, string> = {},
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers))
    if (typeof value === 'string') headers[name] = value;
  return { ...headers, ...bearer(writer.key), ...extra };
}

interface Answer {
  readonly status: number;
  readonly json: { accepted?: number; ids?: string[]; error?: { code: string; details?: unknown } };
}

async function send(target: Target, headers: Record<string, string>, body: string): Promise<Answer> {
  const response = await fetch(urlOf(target), { method: 'POST', headers, body });
  return { status: response.status, json: (await response.json()) as Answer['json'] };
}

function accepted(answer: Answer, id: string, what: string): void {
  assert.equal(answer.status, 202, `${what}: ${JSON.stringify(answer.json)}`);
  assert.deepEqual(answer.json.ids, [id], what);
}

for (const target of TARGETS) {
  describe(target, () => {
    test("the SDK's default emitter (binary mode) with our Authorization header", async () => {
      const { event, id, data, time } = ecommerce(`${target}-emitter`, { tenant: TENANT });
      const emit = emitterFor(httpTransport(urlOf(target)));
      // The transport resolves with the body and headers (no status): the 202 body names the id.
      const response = (await emit(event, { headers: bearer(writer.key) })) as { body: string };
      const answer = JSON.parse(response.body) as Answer['json'];
      assert.equal(answer.accepted, 1, response.body);
      assert.deepEqual(answer.ids, [id]);
      expected.push({ what: `${target} emitter`, id, source: `/shop/${target}-emitter`, time, data });
    });

    test('HTTP.binary: 202; percent-encoded attributes are decoded; no ce-tenant is the key tenant', async () => {
      const { event, id, data, time } = ecommerce(`${target}-binary`);
      const message = HTTP.binary(event);
      assert.equal(message.headers['ce-specversion'], '1.0');
      const answer = await send(
        target,
        headersOf(message, { 'ce-source': '/caf%C3%A9%20%E4%B8%AD%E6%96%87' }),
        String(message.body),
      );
      accepted(answer, id, `${target} binary`);
      expected.push({ what: `${target} binary`, id, source: '/café 中文', time, data });
    });

    test('HTTP.structured: 202 (structured mode wins over any ce-* header)', async () => {
      const { event, id, data, time } = ecommerce(`${target}-structured`, { tenant: TENANT });
      const message = HTTP.structured(event);
      const answer = await send(
        target,
        headersOf(message, { 'ce-specversion': '1.0', 'ce-type': 'nope' }),
        String(message.body),
      );
      accepted(answer, id, `${target} structured`);
      expected.push({ what: `${target} structured`, id, source: `/shop/${target}-structured`, time, data });
    });

    test('binary mode: ce-tenant of another tenant is 403; text/plain is 415; malformed % is 400', async () => {
      const other = ecommerce(`${target}-globex`, { tenant: 'globex' });
      const spoof = await send(
        target,
        headersOf(HTTP.binary(other.event)),
        String(HTTP.binary(other.event).body),
      );
      assert.equal(spoof.status, 403, JSON.stringify(spoof.json));
      assert.equal(spoof.json.error?.code, 'forbidden');

      const form = ecommerce(`${target}-form`);
      const message = HTTP.binary(form.event);
      const plain = await send(
        target,
        headersOf(message, { 'content-type': 'text/plain' }),
        String(message.body),
      );
      assert.equal(plain.status, 415, JSON.stringify(plain.json));
      assert.equal(plain.json.error?.code, 'unsupported_media_type');
      assert.deepEqual(plain.json.error?.details, { supported: ['application/json', 'application/*+json'] });

      const garbage = await send(target, headersOf(message, { 'ce-id': 'a%zz' }), String(message.body));
      assert.equal(garbage.status, 400, JSON.stringify(garbage.json));
      assert.equal(garbage.json.error?.code, 'bad_request');

      const missing = headersOf(message);
      delete missing['ce-source'];
      const noSource = await send(target, missing, String(message.body));
      assert.equal(noSource.status, 400, JSON.stringify(noSource.json));
      assert.equal(noSource.json.error?.code, 'validation_failed');
    });
  });
}

test('Kafka holds each accepted event once, with its stream, id, source, time, tenant and data', {
  timeout: 60_000,
}, async () => {
  const records = await readTopic(
    stackEnv().kafkaBrokers,
    topicNames('ecommerce', p.iso.topicPrefix).events,
    expected.length,
  );
  const byId = new Map<string, Record<string, unknown>[]>();
  for (const record of records) {
    const value = JSON.parse(record.value) as Record<string, unknown>;
    const id = String(value.id);
    byId.set(id, [...(byId.get(id) ?? []), value]);
  }
  assert.equal(expected.length, TARGETS.length * 3);
  for (const e of expected) {
    const found = byId.get(e.id) ?? [];
    assert.equal(found.length, 1, `${e.what}: ${found.length} records of ${e.id}`);
    const value = found[0] ?? {};
    assert.equal(value.stream, 'ecommerce', e.what);
    assert.equal(value.source, e.source, e.what);
    assert.equal(value.time, e.time, e.what);
    assert.equal(value.tenant, TENANT, e.what);
    assert.deepEqual(value.data, e.data, e.what);
  }
  // Nothing refused was written: only the accepted ids are on the topic.
  assert.deepEqual([...byId.keys()].sort(), expected.map((e) => e.id).sort());
});
