// Stage 2 of a batch: where each valid event goes. Its windows (windows/assign.ts), the ones it is
// too late for (guarantee 3: past the watermark plus allowed lateness, it goes to `<stream>.late`),
// and the watermark as it moves through the batch (windows/watermark.ts). Pure: the partition's
// state is read, never changed.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { IncomingRecord } from '@sluice/shared/kafka/port';
import type { PartitionState } from '../partition-state.ts';
import { windowIdCache } from '../partition-state.ts';
import type { Target } from '../windows/assign.ts';
import { windowsOf } from '../windows/assign.ts';
import { advancedWatermark, splitLate } from '../windows/watermark.ts';
import type { DecodedBatch, Fresh } from './decode.ts';
import { brokenRuleOf } from './decode.ts';

/** Marks a record replayed from `<stream>.late` as a backfill (see `./sluice replay late`). */
export const BACKFILL_HEADER = 'sluice-backfill';

const NO_STARTS: readonly number[] = Object.freeze([]);

/** A valid event of the batch and where it goes. */
export interface Decided {
  readonly record: IncomingRecord;
  readonly event: SluiceEvent;
  /** Every window of every declared spec that holds the event, late or not. */
  readonly windows: readonly Target[];
  /** The windows it counts in: those it is not too late for. */
  readonly targets: readonly Target[];
  /** Starts of its windows that were past allowed lateness. */
  readonly lateFor: readonly number[];
  /** The business rule it breaks: counted as a reject in its windows, not aggregated. */
  readonly brokenRule: string | undefined;
}

export interface Placement {
  /** Records that are dead letters (decode, validation, or refused by a store), in offset order. */
  readonly dead: readonly Fresh[];
  /** Valid events in offset order. */
  readonly decided: readonly Decided[];
  /**
   * The events that claim their id (guarantee 2): those about to count in a window. Late-only
   * events claim nothing: they count only if replayed, and the replayed copy claims then.
   */
  readonly claiming: readonly Decided[];
  readonly watermark: number | null;
  readonly maxEventTime: number | null;
  /** The offset after the batch's last record. */
  readonly next: bigint;
}

export function placeEvents(state: PartitionState, batch: DecodedBatch): Placement {
  const stream = state.stream;
  // Each event's windows (and their ids) are found once, here; loading and planning reuse them.
  const idOf = windowIdCache();
  const dead: Fresh[] = [];
  const decided: Decided[] = [];
  let watermark = state.watermark;
  let maxEventTime = state.maxEventTime;
  const { fresh } = batch;
  for (let i = 0; i < fresh.length; i++) {
    const entry = fresh[i];
    if (entry === undefined) continue;
    const { record, outcome } = entry;
    if (outcome.kind === 'dlq') {
      dead.push(entry);
      continue;
    }
    const event = outcome.event;
    const windows = windowsOf(event, stream.windows, idOf);
    // A replayed late event (`./sluice replay late`) is a deliberate backfill: it amends its
    // windows however old they are, and its old event time moves no watermark.
    const backfill = record.headers[BACKFILL_HEADER] !== undefined;
    const split = backfill ? null : splitLate(windows, watermark, stream.allowedLatenessMs);
    decided.push({
      record,
      event,
      windows,
      targets: split?.targets ?? windows,
      lateFor: split?.lateFor ?? NO_STARTS,
      brokenRule: brokenRuleOf(outcome),
    });
    if (backfill) continue;
    maxEventTime = maxEventTime === null ? event.time : Math.max(maxEventTime, event.time);
    watermark = advancedWatermark(watermark, maxEventTime, stream.watermarkMs);
  }
  const last = fresh[fresh.length - 1];
  return {
    dead,
    decided,
    claiming: decided.filter((d) => d.targets.length > 0),
    watermark,
    maxEventTime,
    next: last === undefined ? (state.nextOffset ?? 0n) : last.record.offset + 1n,
  };
}
