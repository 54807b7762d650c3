// What every window operator shares (one per window kind, as Arroyo's tumbling and session
// aggregating windows and Kafka Streams' KStreamWindowAggregate / KStreamSessionWindowAggregate):
// the batch's view of the windows, and the two calls a plan makes: add an event, then finish the
// batch at its watermark. Operators change only the batch's working copies; the partition's held
// windows change once the plan is durable (commit-protocol.ts).

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { AggState } from '@sluice/shared/streams/aggregate';
import { accumulate, emptyState, reject } from '@sluice/shared/streams/aggregate';
import type { StreamDefinition, WindowSpec } from '@sluice/shared/streams/define';
import type { OpenWindow, PartitionState } from '../partition-state.ts';
import type { Target, WindowBounds } from './assign.ts';

/** One batch's windows: what is held, what was loaded for it, and what it changes. */
export interface BatchWindows {
  readonly state: PartitionState;
  /** Windows read from PostgreSQL for this batch (never held ones: settled, or not cached). */
  readonly loaded: ReadonlyMap<string, OpenWindow>;
  /** The batch's working copies: every window it writes. */
  readonly working: Map<string, OpenWindow>;
  /** Windows this batch brings into being (none was stored or held under their id). */
  readonly created: Set<string>;
  /** Windows this batch changes after they were emitted, or behind the committed watermark. */
  readonly amended: Set<string>;
  /** Session rows merged into another session: deleted in the transaction that writes `working`. */
  readonly removed: Map<string, OpenWindow>;
}

export function batchWindows(state: PartitionState, loaded: ReadonlyMap<string, OpenWindow>): BatchWindows {
  return { state, loaded, working: new Map(), created: new Set(), amended: new Set(), removed: new Map() };
}

/** A window as the batch knows it before changing it: held, else loaded for the batch. */
export function known(ctx: BatchWindows, id: string): OpenWindow | undefined {
  return ctx.state.windows.get(id) ?? ctx.loaded.get(id);
}

export interface WindowOperator {
  /**
   * Counts one event in its `target` window (a session: the session it joins or opens), on the
   * batch's working copy. Returns the id of the window the event is in now.
   */
  add(event: SluiceEvent, target: Target, brokenRule: string | undefined): string;
  /** Once per batch, after every event: decides status and version of what the batch changed. */
  finish(watermark: number | null): void;
}

/** Data quality: an event that breaks a rule counts in its windows as rejected, nothing more. */
export function countEvent(
  s: AggState,
  aggs: StreamDefinition['aggregations'],
  event: SluiceEvent,
  brokenRule: string | undefined,
): void {
  if (brokenRule === undefined) accumulate(s, aggs, event.data);
  else reject(s, aggs, brokenRule);
}

export function newWindow(
  event: SluiceEvent,
  spec: WindowSpec,
  bounds: WindowBounds,
  aggs: StreamDefinition['aggregations'],
): OpenWindow {
  return {
    tenant: event.tenant,
    stream: event.stream,
    window: spec.name,
    start: bounds.start,
    end: bounds.end,
    key: event.key,
    state: emptyState(aggs),
    status: 'provisional',
    version: 1,
  };
}
