// A verified delivery becomes an event (issue 22, item 4): in the `webhooks` stream as
// `{provider, type, account, delivery_id, payload}`, or in the stream the source targets through
// its mapping (event field <- JSON pointer into that same record, plus `received_at`). Then it is judged as any event
// of POST /v1/events is (validate.ts): the stream's schema, storable text, depth, size, the
// tenant (the source's), the event time bounds. Web APIs only.

import type { SluiceEvent } from '../events/envelope.ts';
import type { ItemVerdict } from '../events/validate.ts';
import { validateItem } from '../events/validate.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import type { Delivery } from './scheme.ts';
import type { Mapping, WebhookSource } from './source.ts';

export interface ToEventOptions {
  readonly registry: StreamRegistry;
  /** When the delivery was first received (a redelivery keeps it: delivery-ledger.ts). */
  readonly firstSeenMs: number;
  readonly now: number;
  readonly maxEventBytes: number;
  readonly maxDepth: number;
}

/** The `webhooks` stream's payload, and (with `received_at`) the record a mapping reads from. */
export function deliveryRecord(source: WebhookSource, delivery: Delivery): Record<string, unknown> {
  return {
    provider: source.provider,
    type: delivery.type,
    account: delivery.account,
    delivery_id: delivery.id,
    payload: delivery.payload,
  };
}

/** RFC 6901: `/a/b~1c/0`; undefined where the path leads nowhere. */
export function resolvePointer(value: unknown, pointer: string): unknown {
  let at = value;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, token)) return undefined;
    at = (at as Record<string, unknown>)[token];
  }
  return at;
}

function mapped(mapping: Mapping, record: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [field, pointer] of Object.entries(mapping)) {
    const value = resolvePointer(record, pointer);
    if (value !== undefined) data[field] = value;
  }
  return data;
}

/** The delivery as an event of its source's stream, or the per-field reasons it is not one. */
export function deliveryToEvent(
  source: WebhookSource,
  delivery: Delivery,
  bodyBytes: number,
  options: ToEventOptions,
): ItemVerdict & { readonly event?: SluiceEvent } {
  const record = deliveryRecord(source, delivery);
  // A mapping may also read `received_at`: the first receive time, RFC 3339, for a stream whose
  // event-time field is required and a provider whose payload holds no time of its own.
  const data =
    source.options.mapping === undefined
      ? record
      : mapped(source.options.mapping, {
          ...record,
          received_at: new Date(options.firstSeenMs).toISOString(),
        });
  const value = {
    id: delivery.id,
    stream: source.stream,
    time: options.firstSeenMs,
    // The source is part of the dedup identity: two sources' equal delivery ids are two events.
    source: `webhook:${source.id}`,
    data,
  };
  return validateItem(
    // The body bounds the event's size: its payload, plus names and ids of bounded length.
    { index: 0, value, bytes: bodyBytes + 1024 },
    {
      registry: options.registry,
      now: options.now,
      maxEventBytes: options.maxEventBytes,
      maxDepth: options.maxDepth,
      newId: () => delivery.id,
      tenant: { from: 'key', tenant: source.tenant },
      signed: true,
    },
  );
}
