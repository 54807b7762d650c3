// An event as a caller gives it: the intake's envelope `{ id?, stream, time?, data, source?,
// tenant? }` (CloudEvents are sent as raw JSON elsewhere; this client speaks the envelope).

export interface SluiceEventInput {
  readonly stream: string;
  readonly data: unknown;
  /**
   * The event's id, the pipeline's dedup key. Absent, the client makes one (crypto.randomUUID)
   * ONCE, when the event is queued, so every retry carries it. NOTE: an envelope id wins over a
   * stream's id field (ecommerce's transaction_id, bakery's sale_id): to dedup by that field across
   * separate sends, pass its value here.
   */
  readonly id?: string;
  /** Event time: RFC 3339 or epoch ms (a stream's declared time field in `data` wins). */
  readonly time?: string | number;
  readonly source?: string;
  /** Only with auth off: with a key, the tenant is the key's (another one is refused). */
  readonly tenant?: string;
}

/** The event with its id fixed, and its NDJSON line. */
export interface QueuedEvent {
  readonly id: string;
  readonly line: string;
  readonly bytes: number;
}

const encoder = new TextEncoder();

export function queued(event: SluiceEventInput, newId: () => string): QueuedEvent {
  const id = event.id ?? newId();
  const line = JSON.stringify({ ...event, id });
  // The line's bytes plus its newline: what it adds to a batch's body.
  return { id, line, bytes: encoder.encode(line).byteLength + 1 };
}
