// GET /v1/streams/{stream}/health: the dashboard's health row, from the public API like the rest
// of the page. One answer, two parts named for whose figures they are:
// - `per_tenant`: from the key's tenant's own windows (events/s by event time, rule breakers and the
//   data-quality score over the last few windows); another tenant's key reads its own, never these.
// - `per_stream`: operational figures every tenant's records share (rates in and processed,
//   consumer lag, late and DLQ counts, watermark lag), as the processors last reported them. They
//   add up every tenant's volume, so tenant A would learn B's by subtracting its own: they are an
//   operator's view, given only to a key that also holds `admin` (who may read /metrics, which
//   carries the same numbers) and null for any other key (DESIGN: tenant isolation in every read).
// The route is not cached (each read is a handful of rows); the live route's `health` events share
// one snapshot per interval (health-snapshots.ts).

import type { StreamDefinition } from '@sluice/shared/streams/define';
import { topicNames } from '@sluice/shared/streams/registry';
import type { HealthRepo, PartitionHealth } from './health-repo.ts';

/** A partition whose owner has not reported for this long is left out of rates and lag (stale). */
export const STALE_AFTER_MS = 15_000;
/** The tenant's figures cover at least this much event time (and at least two windows). */
const TENANT_SPAN_MS = 15 * 60_000;

export interface StreamHealthDeps {
  readonly healthRepo: HealthRepo;
  readonly group: string;
  readonly topicPrefix: string;
  readonly now: () => number;
  /** The lowest committed partition watermark of a topic (windows-repo.ts). */
  readonly watermarkOf: (group: string, topic: string) => Promise<number | null>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const sumOf = (values: readonly number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0));

/**
 * The health answer for `tenant`; `operator` (the key holds `admin`, operator-view.ts) adds the
 * stream-wide figures, which are not even read for anyone else.
 */
export async function streamHealth(
  deps: StreamHealthDeps,
  stream: StreamDefinition,
  tenant: string,
  operator: boolean,
) {
  const topic = topicNames(stream.name, deps.topicPrefix).events;
  const now = deps.now();
  const [perTenant, perStream] = await Promise.all([
    tenantFigures(deps, stream, tenant, now),
    operator ? wholeStream(deps, topic, stream.partitions, now) : null,
  ]);
  return {
    stream: stream.name,
    tenant,
    as_of: new Date(now).toISOString(),
    per_tenant: perTenant,
    per_stream: perStream,
  };
}

async function wholeStream(deps: StreamHealthDeps, topic: string, declared: number, now: number) {
  const [partitions, watermark] = await Promise.all([
    deps.healthRepo.partitions(deps.group, topic),
    deps.watermarkOf(deps.group, topic),
  ]);
  return streamFigures(partitions, watermark, declared, now);
}

function streamFigures(
  partitions: readonly PartitionHealth[],
  watermark: number | null,
  declared: number,
  now: number,
) {
  const fresh = partitions.filter((p) => now - p.updatedAt <= STALE_AFTER_MS);
  const rates = (pick: (p: PartitionHealth) => number | null) =>
    sumOf(fresh.map(pick).filter((v): v is number => v !== null));
  const lags = fresh.flatMap((p) =>
    p.endOffset === null || p.nextOffset === null ? [] : [Math.max(0, p.endOffset - p.nextOffset)],
  );
  const total = (pick: (p: PartitionHealth) => number) => partitions.reduce((s, p) => s + pick(p), 0);
  const updated = partitions.reduce<number | null>(
    (m, p) => (m === null || p.updatedAt > m ? p.updatedAt : m),
    null,
  );
  return {
    partitions: declared,
    partitions_reporting: fresh.length,
    events_in_per_second: rates((p) => p.inPerSecond),
    events_processed_per_second: rates((p) => p.processedPerSecond),
    consumer_lag: sumOf(lags),
    watermark: iso(watermark),
    watermark_lag_ms: watermark === null ? null : Math.max(0, now - watermark),
    processed: total((p) => p.processed),
    late: total((p) => p.late),
    dlq: total((p) => p.dlq),
    rejected: total((p) => p.rejected),
    updated_at: iso(updated),
  };
}

async function tenantFigures(deps: StreamHealthDeps, stream: StreamDefinition, tenant: string, now: number) {
  // Summing keys' rows counts each event once only in a tumbling window (hopping ones overlap).
  const window = stream.windows.find((w) => w.kind === 'tumbling');
  const count = stream.aggregations.find((a) => a.fn === 'count');
  const quality = stream.aggregations.find((a) => a.fn === 'quality');
  if (window === undefined || window.kind !== 'tumbling' || count === undefined)
    return {
      window: null,
      since: null,
      events: null,
      events_per_second: null,
      rejected: null,
      quality_score: null,
    };
  const span = Math.max(TENANT_SPAN_MS, 2 * window.sizeMs);
  const from = Math.floor((now - span) / window.sizeMs) * window.sizeMs;
  const activity = await deps.healthRepo.tenantActivity({
    tenant,
    stream: stream.name,
    window: window.name,
    from,
    countName: count.name,
    qualityName: quality?.name ?? null,
  });
  const judged = (activity.passed ?? 0) + (activity.rejected ?? 0);
  return {
    window: window.name,
    since: iso(from),
    events: activity.events,
    // By event time: the tenant's events in windows since `since`, over the time since then.
    events_per_second: activity.events / Math.max(1, (now - from) / 1000),
    rejected: activity.rejected,
    quality_score: activity.passed === null || judged === 0 ? null : activity.passed / judged,
  };
}
