// A wait with an upper bound: the work's own answer, or a rejection once `ms` have passed, so a
// call that never answers (a broker away, a close the group never completes) fails instead of
// hanging its caller. The work is not cancelled; whatever it answers later is ignored. Web APIs only.

export async function withinMs<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
