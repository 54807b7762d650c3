// Where an event's windows are: tumbling windows are aligned to the epoch, [start, start + size);
// hopping windows are every window of `size` starting on a multiple of `slide` that holds the
// event; a session starts as [time, time + gap] and is merged with its neighbours by the session
// operator (session-operator.ts).

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { WindowSpec } from '@sluice/shared/streams/define';
import type { windowIdCache } from '../partition-state.ts';

export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}

/** One of an event's windows: its spec (and the spec's place in the stream's list), bounds and id. */
export interface Target {
  readonly spec: WindowSpec;
  /** The spec's index in the stream's `windows`: which operator of the batch counts the event. */
  readonly slot: number;
  readonly bounds: WindowBounds;
  /** The window id (tumbling and hopping); '' for a session, whose id is its merged start. */
  readonly id: string;
}

/** The windows of `spec` that contain event time `time` (ms). */
export function assignWindows(spec: WindowSpec, time: number): WindowBounds[] {
  switch (spec.kind) {
    case 'tumbling': {
      const start = Math.floor(time / spec.sizeMs) * spec.sizeMs;
      return [{ start, end: start + spec.sizeMs }];
    }
    case 'hopping': {
      // Every window of `size` starting on a multiple of `slide` that contains `time`.
      const last = Math.floor(time / spec.slideMs) * spec.slideMs;
      const out: WindowBounds[] = [];
      for (let start = last; start > time - spec.sizeMs; start -= spec.slideMs)
        out.push({ start, end: start + spec.sizeMs });
      return out.reverse();
    }
    case 'session':
      // Sessions depend on their neighbours, not only on the event: merged by the session operator.
      return [{ start: time, end: time + spec.gapMs }];
  }
}

/** Each declared window of `event` (hopping: every one that holds it), with its id. */
export function windowsOf(
  event: SluiceEvent,
  specs: readonly WindowSpec[],
  idOf: ReturnType<typeof windowIdCache>,
): Target[] {
  const [only] = specs;
  if (specs.length === 1 && only !== undefined) return windowsOfSpec(event, only, 0, idOf);
  return specs.flatMap((spec, slot) => windowsOfSpec(event, spec, slot, idOf));
}

/** One spec's windows of `event`, in an array of their exact size (push grows one to 17 slots). */
function windowsOfSpec(
  event: SluiceEvent,
  spec: WindowSpec,
  slot: number,
  idOf: ReturnType<typeof windowIdCache>,
): Target[] {
  const assigned = assignWindows(spec, event.time);
  const out = new Array<Target>(assigned.length);
  for (let b = 0; b < assigned.length; b++) {
    const bounds = assigned[b];
    if (bounds === undefined) continue;
    const id = spec.kind === 'session' ? '' : idOf(event.tenant, spec.name, bounds.start, event.key);
    out[b] = { spec, slot, bounds, id };
  }
  return out;
}
