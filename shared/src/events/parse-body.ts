// Reads an intake request body into items: JSON (one event or an array), NDJSON, CloudEvents
// structured, batch and binary mode (cloudevents-binary.ts); gzip when Content-Encoding says so.
// Every bound is enforced while reading, before anything is parsed, whatever the format: bytes
// after decompression (a gzip bomb stops at the limit), the number of events (counted as bytes
// arrive) and the time the body may take (a slow sender gets 408). Web APIs only.

import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { BinaryAttributes } from './cloudevents-binary.ts';
import {
  BINARY_DATA_TYPES,
  binaryAttributes,
  binaryEvent,
  binaryEventBytes,
  isBinaryMode,
  isJsonMediaType,
} from './cloudevents-binary.ts';
import type { ItemCounter } from './item-counter.ts';
import { jsonArrayCounter, ndjsonCounter } from './item-counter.ts';
import { mayHoldUnstorableText } from './storable-text.ts';
import type { RawItem } from './validate.ts';

export interface BodyLimits {
  /** Decompressed bytes per request (413 beyond). */
  readonly maxRequestBytes: number;
  /** Bytes per event (a per-event rejection beyond). */
  readonly maxEventBytes: number;
  /** Events per request (413 beyond, as soon as the body holds one more). */
  readonly maxEvents: number;
  /** Time the whole body may take to arrive (408 beyond); DEFAULT_BODY_READ_TIMEOUT_MS if unset. */
  readonly bodyReadTimeoutMs?: number;
}

export const DEFAULT_BODY_READ_TIMEOUT_MS = 30_000;

export type BodyFormat = 'json' | 'ndjson' | 'cloudevents' | 'cloudevents-batch' | 'cloudevents-binary';

type BodyType = Exclude<BodyFormat, 'cloudevents-binary'>;

/** The formats a Content-Type names; binary mode is told by its `ce-specversion` header instead. */
const FORMATS: Record<string, BodyType> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/cloudevents+json': 'cloudevents',
  'application/cloudevents-batch+json': 'cloudevents-batch',
};

export const SUPPORTED_CONTENT_TYPES = Object.keys(FORMATS);

export interface ParsedBody {
  readonly format: BodyFormat;
  readonly items: RawItem[];
}

export async function parseBody(request: Request, limits: BodyLimits): Promise<Result<ParsedBody, AppError>> {
  const chosen = chooseFormat(request.headers);
  if (!chosen.ok) return chosen;
  const mode = chosen.value;
  const { format } = mode;
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limits.maxRequestBytes)
    return fail(tooLarge(limits.maxRequestBytes));

  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    return fail(
      appError(
        'unsupported_media_type',
        `unsupported content encoding '${encoding.slice(0, 100)}' (gzip or identity)`,
      ),
    );
  }
  if (request.body === null) return fail(appError('bad_request', 'request body is empty'));
  const stream =
    encoding === 'gzip' ? request.body.pipeThrough(new DecompressionStream('gzip')) : request.body;
  // Every item takes two bytes at least (itself and a separator): a body declared shorter than
  // twice the limit cannot pass it, and is not counted.
  const countless =
    format === 'cloudevents' ||
    format === 'cloudevents-binary' ||
    (encoding === 'identity' && Number.isFinite(declared) && declared < 2 * limits.maxEvents);
  const counter = countless ? undefined : format === 'ndjson' ? ndjsonCounter() : jsonArrayCounter();
  // The same bounds for every format, binary mode included (bytes after gzip, items, time).
  const read = await readBodyBytes(stream, {
    maxBytes: limits.maxRequestBytes,
    maxEvents: limits.maxEvents,
    counter,
    timeoutMs: limits.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS,
  });
  if (!read.ok) return read;
  const decoded = utf8Text(read.value);
  if (!decoded.ok) return decoded;
  const text = decoded.value;

  if (mode.format === 'cloudevents-binary') {
    const data = parseJson(text);
    if (!data.ok) return data;
    // One event per request: a JSON array here is the event's data (which no stream takes).
    const value = binaryEvent(mode.attributes, data.value);
    const bytes = binaryEventBytes(mode.attributes, read.value.byteLength);
    return ok({ format, items: [{ index: 0, value, bytes }] });
  }
  const items =
    mode.format === 'ndjson'
      ? splitNdjson(text)
      : splitJson(text, mode.format, limits.maxEventBytes, !mayHoldUnstorableText(read.value));
  if (!items.ok) return items;
  if (items.value.length === 0) return fail(appError('bad_request', 'request holds no events'));
  // The counter already refused more; this holds the limit even where it counted loosely.
  if (items.value.length > limits.maxEvents) return fail(tooManyEvents(limits.maxEvents));
  return ok({ format, items: items.value });
}

type Chosen =
  | { readonly format: BodyType }
  | { readonly format: 'cloudevents-binary'; readonly attributes: BinaryAttributes };

/** The body's format from its headers, before a byte of it is read. */
function chooseFormat(headers: Headers): Result<Chosen, AppError> {
  // NOTE: no default type. A body without one (or `text/plain`) is what a cross-site form post
  // sends without a CORS preflight; only the declared JSON types are read as events.
  const declaredType = headers.get('content-type');
  const contentType = declaredType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const format = FORMATS[contentType];
  // A cloudevents+json body is structured (or batch) mode whatever ce-* headers come with it
  // (CloudEvents HTTP binding 3: structured wins); other types with ce-specversion are binary mode.
  if (isBinaryMode(headers) && format !== 'cloudevents' && format !== 'cloudevents-batch') {
    if (!isJsonMediaType(contentType)) {
      return fail(
        appError(
          'unsupported_media_type',
          declaredType === null
            ? 'a Content-Type is required: CloudEvents binary mode takes JSON data'
            : `CloudEvents binary mode takes JSON data, not '${contentType.slice(0, 100)}'`,
          { details: { supported: BINARY_DATA_TYPES } },
        ),
      );
    }
    const attributes = binaryAttributes(headers);
    if (!attributes.ok) return attributes;
    return ok({ format: 'cloudevents-binary', attributes: attributes.value });
  }
  if (format === undefined) {
    return fail(
      appError(
        'unsupported_media_type',
        declaredType === null
          ? 'a Content-Type is required'
          : `unsupported content type '${contentType.slice(0, 100)}'`,
        { details: { supported: SUPPORTED_CONTENT_TYPES } },
      ),
    );
  }
  return ok({ format });
}

function tooManyEvents(limit: number): AppError {
  return appError('payload_too_large', `request holds more than ${limit} events; the limit is ${limit}`, {
    details: { maxEvents: limit },
  });
}

function tooLarge(limit: number): AppError {
  return appError('payload_too_large', `request body exceeds ${limit} bytes`, {
    details: { maxRequestBytes: limit },
  });
}

export interface ReadBounds {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Counts items as bytes arrive, refusing past `maxEvents` (intake only). */
  readonly maxEvents?: number;
  readonly counter?: ItemCounter | undefined;
}

const TIMED_OUT = Symbol('timed out');

/**
 * A body's bytes, bounded in size (413), time (408) and, with a counter, items (413). Also the raw
 * read of a webhook delivery, whose signature is over these exact bytes.
 */
export async function readBodyBytes(
  stream: ReadableStream<Uint8Array>,
  bounds: ReadBounds,
): Promise<Result<Uint8Array<ArrayBuffer>, AppError>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // One timer per request, raced against every read: a body that trickles is cut off as a whole.
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), bounds.timeoutMs);
  });
  // INVARIANT (guarantee 5): on every refusal the reader is cancelled, so no more bytes are read or
  // inflated for this request.
  const refuse = (error: AppError): Result<never, AppError> => {
    reader.cancel().catch(() => {});
    return fail(error);
  };
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === TIMED_OUT) {
        return refuse(
          appError('request_timeout', `request body did not arrive within ${bounds.timeoutMs} ms`),
        );
      }
      const { done, value } = next;
      if (done) break;
      total += value.byteLength;
      if (total > bounds.maxBytes) return refuse(tooLarge(bounds.maxBytes));
      const maxEvents = bounds.maxEvents ?? Number.POSITIVE_INFINITY;
      if (bounds.counter !== undefined && bounds.counter.push(value, maxEvents) > maxEvents)
        return refuse(tooManyEvents(maxEvents));
      chunks.push(value);
    }
  } catch {
    return refuse(appError('bad_request', 'request body could not be read (corrupt gzip?)'));
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return ok(bytes);
}

function utf8Text(bytes: Uint8Array): Result<string, AppError> {
  try {
    return ok(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return fail(appError('bad_request', 'request body is not valid UTF-8'));
  }
}

const encoder = new TextEncoder();

function parseJson(text: string): Result<unknown, AppError> {
  try {
    return ok(JSON.parse(text));
  } catch (error) {
    return fail(
      appError(
        'bad_request',
        `request body is not JSON: ${error instanceof Error ? error.message : 'parse error'}`,
      ),
    );
  }
}

function splitJson(
  text: string,
  format: BodyType,
  maxEventBytes: number,
  escapeFree: boolean,
): Result<RawItem[], AppError> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const parsed = json.value;
  if (format === 'cloudevents' && Array.isArray(parsed)) {
    return fail(
      appError(
        'bad_request',
        'application/cloudevents+json holds one event; use application/cloudevents-batch+json',
      ),
    );
  }
  if (format === 'cloudevents-batch' && !Array.isArray(parsed)) {
    return fail(appError('bad_request', 'application/cloudevents-batch+json must be a JSON array'));
  }
  const values = Array.isArray(parsed) ? parsed : [parsed];
  // No event is longer than its whole body: a body within the per-event limit (at three bytes a
  // UTF-16 unit) needs no per-event measuring, which would stringify every event once more.
  const bound = text.length * 3;
  if (bound <= maxEventBytes)
    return ok(values.map((value, index) => ({ index, value, bytes: bound, escapeFree })));
  return ok(
    values.map((value, index) => ({ index, value, bytes: encodedLength(value, maxEventBytes), escapeFree })),
  );
}

function splitNdjson(text: string): Result<RawItem[], AppError> {
  const items: RawItem[] = [];
  let index = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    try {
      items.push({
        index,
        value: JSON.parse(trimmed),
        bytes: encoder.encode(trimmed).byteLength,
        escapeFree: !mayHoldUnstorableText(trimmed),
      });
    } catch {
      items.push({ index, parseError: 'line is not valid JSON' });
    }
    index += 1;
  }
  return ok(items);
}

/**
 * Size of one event for the per-event limit. A UTF-8 byte is at least one UTF-16 unit and a unit
 * at most three bytes, so the exact (and costlier) byte count is only needed near the limit.
 */
function encodedLength(value: unknown, limit: number): number {
  const text = JSON.stringify(value) ?? '';
  return text.length * 3 <= limit ? text.length : encoder.encode(text).byteLength;
}
