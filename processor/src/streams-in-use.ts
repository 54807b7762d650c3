// Which streams this processor fleet handles: the built-in registry or a deployment's own module
// (SLUICE_STREAMS_MODULE), narrowed by SLUICE_STREAMS. Fails at start with a clear message, never
// later with a worker that silently consumes nothing.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { STREAMS, selectStreams } from '@sluice/shared/streams/registry';

function isStreamList(value: unknown): value is readonly StreamDefinition[] {
  return (
    Array.isArray(value) &&
    value.every(
      (s: unknown) =>
        typeof s === 'object' && s !== null && 'name' in s && 'windows' in s && 'aggregations' in s,
    )
  );
}

export async function streamsInUse(options: {
  readonly names: readonly string[];
  readonly module: string | undefined;
}): Promise<StreamDefinition[]> {
  let declared: readonly StreamDefinition[] = STREAMS;
  if (options.module !== undefined) {
    const loaded: unknown = await import(pathToFileURL(resolve(options.module)).href);
    const list =
      typeof loaded === 'object' && loaded !== null && 'STREAMS' in loaded ? loaded.STREAMS : undefined;
    if (!isStreamList(list))
      throw new Error(
        `SLUICE_STREAMS_MODULE ${options.module} must export STREAMS, a list of defineStream(...) results`,
      );
    declared = list;
  }
  const selected = selectStreams(declared, options.names);
  if (!selected.ok)
    throw new Error(
      `SLUICE_STREAMS names unknown streams: ${selected.unknown.join(', ')} (declared: ${declared.map((s) => s.name).join(', ')})`,
    );
  return selected.value;
}
