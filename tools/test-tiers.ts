// The test tiers, read from file names: `NAME.unit.test.ts` needs nothing but node_modules (no
// stack, no spawned service); `NAME.integration.test.ts` uses the real stack on its own topics,
// databases and key prefixes, so files run side by side; `NAME.drill.test.ts` stops or restarts a
// shared service, so it runs alone, after the others; `NAME.cluster.test.ts` kills nodes of the
// cluster mode (`./sluice stack up --cluster`), so it runs alone too, against the cluster. A test
// file without a tier is an error: the name is the promise the runner schedules by.

export const TIERS = ['unit', 'integration', 'drill', 'cluster'] as const;
export type Tier = (typeof TIERS)[number];
/** What a run without --tier takes: all but the cluster tier, which needs the cluster mode. */
export const DEFAULT_TIERS: readonly Tier[] = ['unit', 'integration', 'drill'];

const TIERED = /\.(unit|integration|drill|cluster)\.test\.ts$/;

/** The tier a test file's name declares, or undefined for a name that declares none. */
export function tierOf(file: string): Tier | undefined {
  const match = TIERED.exec(file);
  const tier = match?.[1];
  return tier === 'unit' || tier === 'integration' || tier === 'drill' || tier === 'cluster'
    ? tier
    : undefined;
}

export interface Schedule {
  /** Files that may run side by side (unit and integration), in a stable order. */
  readonly concurrent: readonly string[];
  /** Files that must run one at a time, after the concurrent ones. */
  readonly alone: readonly string[];
  /** Test files whose names declare no tier. */
  readonly untiered: readonly string[];
}

/** Splits test files into what runs side by side and what runs alone, keeping only `wanted` tiers. */
export function schedule(files: readonly string[], wanted: readonly Tier[] = TIERS): Schedule {
  const concurrent: string[] = [];
  const alone: string[] = [];
  const untiered: string[] = [];
  for (const file of [...files].sort()) {
    const tier = tierOf(file);
    if (tier === undefined) untiered.push(file);
    else if (!wanted.includes(tier)) continue;
    else if (tier === 'drill' || tier === 'cluster') alone.push(file);
    else concurrent.push(file);
  }
  return { concurrent, alone, untiered };
}
