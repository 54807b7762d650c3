// Where an event's windows are: tumbling windows are aligned to the epoch, [start, start + size).

import type { WindowSpec } from '@sluice/shared/streams/define';

export interface WindowBounds {
  readonly start: number;
  readonly end: number;
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
