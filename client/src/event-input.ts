// An event as a caller gives it: the intake's envelope `{ id?, stream, time?, data, source?,
// tenant? }`, or a CloudEvent 1.0 in structured form (its `type` names the stream, its `id` is
// required by CloudEvents). Both travel as NDJSON lines, which the intake reads either way.

export interface SluiceEventInput {
  readonly stream: string;
  readonly data: unknown;
  /**
   * The event's id, the pipeline's dedup key. Absent, the client makes one (the `newId` option,
   * crypto.randomUUID by default) ONCE, when the event is queued, so every retry carries it.
   * NOTE: an envelope id wins over a stream's id field (ecommerce's transaction_id, bakery's
   * sale_id): to dedup by that field across separate sends, pass its value here (or have `newId`
   * return it).
   */
  readonly id?: string;
  /** Event time: RFC 3339 or epoch ms (a stream's declared time field in `data` wins). */
  readonly time?: string | number;
  readonly source?: string;
  /** Only with auth off: with a key, the tenant is the key's (another one is refused). */
  readonly tenant?: string;
}

/** A CloudEvent 1.0, structured: `type` is the stream, `tenant` an extension attribute. */
export interface CloudEventInput {
  readonly specversion: '1.0';
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly data: unknown;
  readonly time?: string | number;
  readonly datacontenttype?: string;
  readonly tenant?: string;
}

export type EventInput = SluiceEventInput | CloudEventInput;

/** The event with its id fixed, and its NDJSON line. */
export interface QueuedEvent {
  readonly id: string;
  readonly line: string;
  readonly bytes: number;
}

const encoder = new TextEncoder();

export function queued(event: EventInput, newId: (event: EventInput) => string): QueuedEvent {
  const id = event.id ?? newId(event);
  const line = JSON.stringify({ ...event, id });
  // The line's bytes plus its newline: what it adds to a batch's body.
  return { id, line, bytes: encoder.encode(line).byteLength + 1 };
}
