// Keeps the window table's day partitions (shared/src/db/window-partitions.ts) on a timer: at start,
// then every `intervalMs`. Every worker of a fleet runs it; an advisory lock lets one at a time do
// the work. A failed round (a lock timeout, PostgreSQL away) is logged and tried again next round:
// rows still land meanwhile (the default partition takes a day that has none).

import type { Db } from '@sluice/shared/db/client';
import type { MaintenanceReport } from '@sluice/shared/db/window-partitions';
import { maintainWindowPartitions, recordRetention } from '@sluice/shared/db/window-partitions';
import type { Logger } from '@sluice/shared/log';
import type { StreamDefinition } from '@sluice/shared/streams/define';

export interface PartitionMaintenance {
  /** The last round's outcome (tests and /status read it). */
  last(): MaintenanceReport | null;
  stop(): void;
}

export interface PartitionMaintenanceOptions {
  readonly db: Db;
  readonly streams: readonly StreamDefinition[];
  readonly aheadDays: number;
  readonly intervalMs: number;
  readonly log: Logger;
  readonly now: () => number;
}

export async function startPartitionMaintenance(
  options: PartitionMaintenanceOptions,
): Promise<PartitionMaintenance> {
  const { db, log } = options;
  await recordRetention(
    db,
    options.streams.map((s) => ({ stream: s.name, windowRetentionMs: s.windowRetentionMs })),
  );
  let last: MaintenanceReport | null = null;
  let running = false;
  const round = async (): Promise<void> => {
    if (running) return;
    running = true;
    const result = await maintainWindowPartitions(db, { now: options.now(), aheadDays: options.aheadDays });
    running = false;
    if (!result.ok) {
      log.warn({ error: result.error.message }, 'window partition maintenance failed; retried next round');
      return;
    }
    last = result.value;
    const r = result.value;
    if (r.created.length + r.dropped.length + r.deleted > 0)
      log.info(
        { created: r.created, dropped: r.dropped, moved: r.moved, deleted: r.deleted },
        'window partitions maintained',
      );
  };
  await round();
  const timer = setInterval(() => void round(), options.intervalMs);
  timer.unref();
  return { last: () => last, stop: () => clearInterval(timer) };
}
