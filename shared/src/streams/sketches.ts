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

const DISTINCT_TAG = 'hll1:';
const QUANTILES_TAG = 'dds1:';

export class DistinctSketch {
  #hll: HyperLogLog;

  constructor(hll: HyperLogLog = new HyperLogLog({ precision: HLL_PRECISION })) {
    this.#hll = hll;
  }

  add(value: string): void {
    this.#hll.add(value);
  }

  merge(other: DistinctSketch): void {
    this.#hll = this.#hll.merge(other.#hll);
  }

  estimate(): number {
    return Math.round(this.#hll.count());
  }

  clone(): DistinctSketch {
    return new DistinctSketch(new HyperLogLog({ precision: HLL_PRECISION }).merge(this.#hll));
  }

  toJSON(): string {
    return DISTINCT_TAG + Buffer.from(this.#hll.serialize()).toString('base64');
  }
}

// Every sketch starts from the same decoded empty sketch, so a sketch built in memory and one read
// back from a row share one index mapping bit for bit: a replay that resumes from a stored row
// computes exactly the quantiles an uninterrupted run would (guarantee 2: identical values).
const EMPTY_QUANTILES = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }).toProto();

export class QuantileSketch {
  readonly #sketch: DDSketch;

  constructor(sketch: DDSketch = DDSketch.fromProto(EMPTY_QUANTILES)) {
    this.#sketch = sketch;
  }

  add(value: number): void {
    this.#sketch.accept(value);
  }

  merge(other: QuantileSketch): void {
    if (other.#sketch.count > 0) this.#sketch.merge(other.#sketch);
  }

  get count(): number {
    return this.#sketch.count;
  }

  /** The value at quantile `q` (0..1), null for an empty sketch. */
  quantile(q: number): number | null {
    return this.#sketch.count === 0 ? null : this.#sketch.getValueAtQuantile(q);
  }

  clone(): QuantileSketch {
    return new QuantileSketch(DDSketch.fromProto(this.#sketch.toProto()));
  }

  toJSON(): string {
    return QUANTILES_TAG + Buffer.from(this.#sketch.toProto()).toString('base64');
  }
}

export type Sketch = DistinctSketch | QuantileSketch;

/** A sketch from its stored form; undefined when `text` is not one (a plain string value). */
export function reviveSketch(text: string): Sketch | undefined {
  if (text.startsWith(DISTINCT_TAG))
    return new DistinctSketch(
      HyperLogLog.deserialize(Buffer.from(text.slice(DISTINCT_TAG.length), 'base64')),
    );
  if (text.startsWith(QUANTILES_TAG))
    return new QuantileSketch(DDSketch.fromProto(Buffer.from(text.slice(QUANTILES_TAG.length), 'base64')));
  return undefined;
}
