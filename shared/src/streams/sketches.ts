// Mergeable approximate aggregates: distinct counts (HyperLogLog, from `hyperlolo`) and quantiles
// (DDSketch, from `@datadog/sketches-js`). Both live as objects while a window is open and as
// tagged base64 strings in a row's `state` (JSON.stringify calls toJSON), so a new owner, a
// replay and the query API's roll-ups all resume from the same bytes.

import { DDSketch } from '@datadog/sketches-js';
import { HyperLogLog } from 'hyperlolo';

/** 2^12 registers: ~1.6% standard error, 4 KiB per window and key. */
const HLL_PRECISION = 12;
/** Quantiles within 1% of the true value (relative), DDSketch's default. */
const RELATIVE_ACCURACY = 0.01;

/** hyperlolo's own serialisation (options JSON, NUL, uint32 LE length, registers): earlier rows. */
const DISTINCT_TAG_V1 = 'hll1:';
/** The registers alone, base64: ~10 µs to write instead of ~250 µs (a window is stored every batch). */
const DISTINCT_TAG = 'hll2:';
/** DDSketch's protobuf alone: it drops the sketch's min and max (earlier rows). */
const QUANTILES_TAG_V1 = 'dds1:';
/** `min,max:` then the protobuf: quantiles stay within the values really seen. */
const QUANTILES_TAG = 'dds2:';
const REGISTER_COUNT = 2 ** HLL_PRECISION;

/**
 * hyperlolo's HyperLogLog with its registers reachable (they are `protected`, for subclasses):
 * copied, merged and stored as bytes instead of through its per-byte serialiser.
 */
class Registers extends HyperLogLog {
  constructor(bytes?: Uint8Array) {
    super({ precision: HLL_PRECISION });
    if (bytes !== undefined) this.registers = bytes;
  }

  bytes(): Uint8Array {
    return this.registers;
  }

  /** The union, in place: each register keeps the larger value (what hyperlolo's merge computes). */
  mergeFrom(other: Registers): void {
    const mine = this.registers;
    const theirs = other.registers;
    for (let i = 0; i < mine.length; i++) mine[i] = Math.max(mine[i] ?? 0, theirs[i] ?? 0);
  }
}

/** The registers of a V1 row: after the options' NUL terminator, a uint32 LE length, the bytes. */
function registersOfV1(buffer: Buffer): Uint8Array | undefined {
  const nul = buffer.indexOf(0);
  if (nul < 0 || buffer.length < nul + 5) return undefined;
  const length = buffer.readUInt32LE(nul + 1);
  if (length !== REGISTER_COUNT || buffer.length < nul + 5 + length) return undefined;
  return new Uint8Array(buffer.subarray(nul + 5, nul + 5 + length));
}

export class DistinctSketch {
  readonly #hll: Registers;

  constructor(bytes?: Uint8Array) {
    this.#hll = new Registers(bytes);
  }

  add(value: string): void {
    this.#hll.add(value);
  }

  merge(other: DistinctSketch): void {
    this.#hll.mergeFrom(other.#hll);
  }

  estimate(): number {
    return Math.round(this.#hll.count());
  }

  clone(): DistinctSketch {
    return new DistinctSketch(this.#hll.bytes().slice());
  }

  toJSON(): string {
    return DISTINCT_TAG + Buffer.from(this.#hll.bytes()).toString('base64');
  }

  /** A stored sketch (either format); undefined when it is not a well-formed one. */
  static fromStored(text: string): DistinctSketch | undefined {
    if (text.startsWith(DISTINCT_TAG)) {
      const bytes = new Uint8Array(Buffer.from(text.slice(DISTINCT_TAG.length), 'base64'));
      return bytes.length === REGISTER_COUNT ? new DistinctSketch(bytes) : undefined;
    }
    if (text.startsWith(DISTINCT_TAG_V1)) {
      const bytes = registersOfV1(Buffer.from(text.slice(DISTINCT_TAG_V1.length), 'base64'));
      return bytes === undefined ? undefined : new DistinctSketch(bytes);
    }
    return undefined;
  }
}

// Every sketch starts from the same decoded empty sketch, so a sketch built in memory and one read
// back from a row share one index mapping bit for bit: a replay that resumes from a stored row
// computes exactly the quantiles an uninterrupted run would (guarantee 2: identical values).
// Decoding is slow (~160 µs), so new sketches and copies share that decoded mapping (immutable)
// instead of decoding again.
const TEMPLATE = DDSketch.fromProto(new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }).toProto());

/**
 * The magnitudes a quantile sketch indexes (bounded memory, issue 20 item 7). Below MIN_TRACKED a
 * value counts in the zero bucket, above MAX_TRACKED in the bucket of MAX_TRACKED (the exact min
 * and max are still kept, and clamp the quantiles): at 1 % accuracy each sign then spans at most
 * ln(MAX/MIN) / ln(1.0202) ≈ 2,740 buckets (~29 KB stored), where 1e-300 and 1e12 in one window
 * made ~36,000 (~290 KB). A pure function of the value, so a sketch resumed from a row and one
 * built in memory stay bit for bit the same (guarantee 2), and stored sketches read as they were.
 */
export const MIN_TRACKED = 1e-9;
export const MAX_TRACKED = 1e15;

function emptyQuantiles(): DDSketch {
  const sketch = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
  sketch.mapping = TEMPLATE.mapping;
  return sketch;
}

export class QuantileSketch {
  readonly #sketch: DDSketch;

  constructor(sketch: DDSketch = emptyQuantiles()) {
    this.#sketch = sketch;
  }

  add(value: number): void {
    const magnitude = Math.abs(value);
    if (magnitude >= MIN_TRACKED && magnitude <= MAX_TRACKED) {
      this.#sketch.accept(value);
      return;
    }
    const sketch = this.#sketch;
    const { min, max } = sketch;
    sketch.accept(magnitude < MIN_TRACKED ? 0 : Math.sign(value) * MAX_TRACKED);
    sketch.min = Math.min(min, value);
    sketch.max = Math.max(max, value);
  }

  merge(other: QuantileSketch): void {
    if (other.#sketch.count > 0) this.#sketch.merge(other.#sketch);
  }

  get count(): number {
    return this.#sketch.count;
  }

  /**
   * The value at quantile `q` (0..1), null for an empty sketch. Clamped to the exact min and max,
   * as DDSketch's Go and Java implementations do: a bucket's value is within 1 % of the values in
   * it, so without the clamp a p99 could read above the window's max.
   */
  quantile(q: number): number | null {
    if (this.#sketch.count === 0) return null;
    const value = this.#sketch.getValueAtQuantile(q);
    return Math.min(Math.max(value, this.#sketch.min), this.#sketch.max);
  }

  clone(): QuantileSketch {
    const copy = emptyQuantiles();
    copy._copy(this.#sketch);
    return new QuantileSketch(copy);
  }

  toJSON(): string {
    const { min, max } = this.#sketch;
    return `${QUANTILES_TAG}${min},${max}:${Buffer.from(this.#sketch.toProto()).toString('base64')}`;
  }

  /** A stored sketch (either format); undefined when it is not a well-formed one. */
  static fromStored(text: string): QuantileSketch | undefined {
    if (text.startsWith(QUANTILES_TAG_V1)) {
      // min and max were not kept: unknown, so no clamp, now or after merges (-∞ and +∞ absorb).
      const sketch = DDSketch.fromProto(Buffer.from(text.slice(QUANTILES_TAG_V1.length), 'base64'));
      sketch.min = Number.NEGATIVE_INFINITY;
      sketch.max = Number.POSITIVE_INFINITY;
      return new QuantileSketch(sketch);
    }
    if (!text.startsWith(QUANTILES_TAG)) return undefined;
    const colon = text.indexOf(':', QUANTILES_TAG.length);
    const [min, max] = text.slice(QUANTILES_TAG.length, colon).split(',').map(Number);
    if (colon < 0 || min === undefined || max === undefined || Number.isNaN(min) || Number.isNaN(max))
      return undefined;
    const sketch = DDSketch.fromProto(Buffer.from(text.slice(colon + 1), 'base64'));
    sketch.min = min;
    sketch.max = max;
    return new QuantileSketch(sketch);
  }
}

export type Sketch = DistinctSketch | QuantileSketch;

/** A sketch from its stored form; undefined when `text` is not one (a plain string value). */
export function reviveSketch(text: string): Sketch | undefined {
  if (text.startsWith(DISTINCT_TAG) || text.startsWith(DISTINCT_TAG_V1))
    return DistinctSketch.fromStored(text);
  if (text.startsWith(QUANTILES_TAG) || text.startsWith(QUANTILES_TAG_V1))
    return QuantileSketch.fromStored(text);
  return undefined;
}
