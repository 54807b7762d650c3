// Signature comparison in constant time (issue 22): how long a comparison takes must not tell an
// attacker how many leading bytes of a forged signature were right. Web APIs only (the edge runs
// it), so not node:crypto's timingSafeEqual.

/**
 * Whether `a` and `b` hold the same bytes. Every byte of the longer one is read whatever the
 * inputs, and the lengths are folded into the same accumulator: no branch and no early exit
 * depends on where the inputs differ.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Whether any candidate signature equals any expected one (two live secrets during a rotation,
 * several signatures in one header). Every pair is compared, and the verdicts are OR-ed without
 * short-circuit, so which secret or which candidate matched is not visible in the timing either.
 */
export function matchesAny(expected: readonly Uint8Array[], candidates: readonly Uint8Array[]): boolean {
  let matched = 0;
  for (const e of expected) for (const c of candidates) matched |= constantTimeEqual(e, c) ? 1 : 0;
  return matched === 1;
}
