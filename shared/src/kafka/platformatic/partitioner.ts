// Kafka's key partitioner (the Java client's and librdkafka's murmur2_random): murmur2 of the key's
// bytes, its sign bit cleared. @platformatic/kafka's `compatibilityPartitioner` computes it in
// BigInt arithmetic, ~3 % of ingest's CPU under the e2e load (issue 27); this is the same hash in
// 32-bit integer arithmetic, as the Java client's Utils.murmur2 is written.
//
// INVARIANT (guarantee 1's keying, STYLE #9): for every key it returns what the library's
// partitioner returns, so a key lands on the partition the other adapter and every Kafka client
// choose (a unit test compares them over arbitrary bytes, and with the Java client's own cases).

import type { MessageToProduce } from '@platformatic/kafka';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's murmur2 (Utils.murmur2) of `data`, a signed 32-bit integer as Java returns it. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocks = length - (length % 4);
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length % 4;
  if (rest > 0) {
    if (rest === 3) h ^= (data[blocks + 2] ?? 0) << 16;
    if (rest >= 2) h ^= (data[blocks + 1] ?? 0) << 8;
    h ^= data[blocks] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partitioner the producer is given: the key's murmur2, positive; keyless records to 0. */
export function keyPartitioner(_message: MessageToProduce, key: Buffer | undefined): number {
  return key === undefined ? 0 : murmur2(key) & 0x7fffffff;
}
