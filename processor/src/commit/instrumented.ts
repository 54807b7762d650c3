// Metrics and spans as decorators, so the consumer loop, the commit protocol and the stores read as
// what they do (OpenMeter's ingestadapter/telemetry.go): a CONSUMER span around each batch, a
// CLIENT span around each store's commit, PostgreSQL's commit latency, and after each commit its
// outcome counts, the written windows' `emit window` spans, the watermark lag, one warning per
// fence, and a count and a warning per record isolated to the DLQ.

import type { Span } from '@opentelemetry/api';
import { SpanKind, trace } from '@opentelemetry/api';
import type { IncomingRecord, RecordBatch } from '@sluice/shared/kafka/port';
import type { Logger } from '@sluice/shared/log';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { inSpan } from '@sluice/shared/telemetry/spans';
import { batchOrigins, spanContextFrom } from '@sluice/shared/telemetry/trace-context';
import type { ProcessorMetrics } from '../health/metrics.ts';
import type { PartitionHealthReporter } from '../health/partition-health.ts';
import { windowId } from '../partition-state.ts';
import type { BatchPlan } from '../stages/plan.ts';
import type { WindowSink } from '../stores/postgres-rows.ts';
import type { StateStore } from '../stores/redis-state.ts';
import type { CommitPlan } from './commit-protocol.ts';
import { printable } from './failure-kind.ts';
import type { DataFailure } from './isolate.ts';

const tracer = trace.getTracer('sluice-processor');
const EMIT_SPANS_PER_BATCH = 50;

/** The state store with a span around each commit (the Redis half of guarantee 2). */
export function tracedStateStore(store: StateStore): StateStore {
  return {
    ...store,
    commit: (ref, change) =>
      inSpan(
        tracer,
        'commit window state',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'redis',
            'db.operation.name': 'EVALSHA',
            'sluice.windows.written': change.rows.length,
          },
        },
        () => store.commit(ref, change),
      ),
  };
}

/** The row store with a span and the latency histogram around each commit (the PostgreSQL half). */
export function tracedRowStore(sink: WindowSink, metrics: Pick<ProcessorMetrics, 'sinkLatency'>): WindowSink {
  return {
    ...sink,
    async commit(rows, offset, options) {
      const started = performance.now();
      const written = await inSpan(
        tracer,
        'write windows',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'postgresql',
            'db.operation.name': 'transaction',
            'sluice.windows.written': rows.length,
            'sluice.windows.removed': options?.removed?.length ?? 0,
          },
        },
        () => sink.commit(rows, offset, options),
      );
      metrics.sinkLatency.observe(
        { outcome: written.ok ? 'ok' : 'fenced' },
        (performance.now() - started) / 1000,
      );
      return written;
    },
  };
}

export interface CommitTelemetry {
  readonly metrics: ProcessorMetrics;
  readonly log: Logger;
  readonly now: () => number;
  readonly partitionHealth?: PartitionHealthReporter;
}

/** The commit protocol, telling metrics, the partition health and the traces what each commit did. */
export function instrumentedCommit(commit: CommitPlan, telemetry: CommitTelemetry): CommitPlan {
  const { metrics, log } = telemetry;
  return async (state, plan, traceId) => {
    const result = await commit(state, plan, traceId);
    if (result.kind === 'fenced') {
      metrics.fenced.inc({ topic: state.topic, store: result.store });
      log.warn(
        { topic: state.topic, partition: state.partition, store: result.store },
        'commit fenced: partition moved to another worker (or its state was lost)',
      );
      return result;
    }
    const stream = state.stream.name;
    if (traceId !== undefined) emitSpans(plan);
    for (const row of plan.rows) metrics.windowsWritten.inc({ stream, status: row.status });
    const { processed, dlq, late, skipped, duplicates, rejected } = plan.counts;
    metrics.events.inc({ stream, outcome: 'processed' }, processed);
    if (dlq > 0) metrics.events.inc({ stream, outcome: 'dlq' }, dlq);
    if (late > 0) metrics.events.inc({ stream, outcome: 'late' }, late);
    if (skipped > 0) metrics.events.inc({ stream, outcome: 'skipped' }, skipped);
    if (duplicates > 0) metrics.events.inc({ stream, outcome: 'duplicate' }, duplicates);
    if (rejected > 0) metrics.events.inc({ stream, outcome: 'rejected' }, rejected);
    telemetry.partitionHealth?.counted(state.topic, state.partition, { processed, late, dlq, rejected });
    if (state.watermark !== null) {
      metrics.watermarkLag.set(
        { topic: state.topic, partition: String(state.partition) },
        (telemetry.now() - state.watermark) / 1000,
      );
    }
    return result;
  };
}

/**
 * One `emit window` span per window the batch wrote (a bounded number per batch), a child of the
 * batch's span, linked to sampled events that changed it: a number on the dashboard leads here,
 * and from here to the requests that made it.
 */
function emitSpans(plan: BatchPlan): void {
  for (const row of plan.rows.slice(0, EMIT_SPANS_PER_BATCH)) {
    const carriers = plan.contributors.get(windowId(row.tenant, row.window, row.start, row.key)) ?? [];
    tracer
      .startSpan('emit window', {
        kind: SpanKind.INTERNAL,
        links: carriers.flatMap((carrier) => {
          const sc = spanContextFrom(carrier);
          return sc === undefined ? [] : [{ context: sc }];
        }),
        attributes: {
          'sluice.stream': row.stream,
          'sluice.window': row.window,
          'sluice.window.start': new Date(row.start).toISOString(),
          'sluice.window.status': row.status,
          'sluice.window.version': row.version,
        },
      })
      .end();
  }
}

/**
 * Runs `work` in one CONSUMER span per batch: a child of the first sampled producing context,
 * linked to (a bounded number of) the others, so an event can be followed from its producer.
 */
export function inBatchSpan(batch: RecordBatch, work: (span: Span) => Promise<void>): Promise<void> {
  const { parent, links } = batchOrigins(batch.records.map((r) => r.headers));
  return inSpan(
    tracer,
    `process ${batch.topic}`,
    {
      kind: SpanKind.CONSUMER,
      parent,
      links,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': batch.topic,
        'messaging.destination.partition.id': String(batch.partition),
        'messaging.batch.message_count': batch.records.length,
      },
    },
    work,
  );
}

/** Counts and logs (one line each, the reason made printable) a record isolated to the DLQ. */
export function isolationReporter(deps: {
  readonly metrics: Pick<ProcessorMetrics, 'isolated'>;
  readonly log: Logger;
  readonly streamsByTopic: ReadonlyMap<string, StreamDefinition>;
}): (topic: string, record: IncomingRecord, failure: DataFailure) => void {
  return (topic, record, { step, reason }) => {
    const stream = deps.streamsByTopic.get(topic)?.name ?? topic;
    deps.metrics.isolated.inc({ stream, step });
    deps.log.warn(
      {
        topic,
        partition: record.partition,
        offset: record.offset.toString(),
        step,
        reason: printable(reason),
      },
      'record refused by a store for its data: isolated to the DLQ, the partition goes on',
    );
  };
}
