// Tumbling and hopping windows (a hopping event is in several windows, each counted alike): an event
// adds to its window's working copy, made on the window's first touch in the batch. Guarantee 3: a
// window already emitted as settled (or amended) changes only as a new version, once per batch,
// marked `amended` so readers and caches know it moved.

import type { SluiceEvent } from '@sluice/shared/events/envelope';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import type { OpenWindow } from '../partition-state.ts';
import { copyWindow } from '../partition-state.ts';
import type { Target } from './assign.ts';
import type { BatchWindows, WindowOperator } from './operator.ts';
import { countEvent, known, newWindow } from './operator.ts';

export function tumblingOperator(ctx: BatchWindows, stream: StreamDefinition): WindowOperator {
  const { working, created, amended } = ctx;
  const committed = ctx.state.watermark;
  // The batch's working copy of a window, made on its first touch: a copy of the known one, or new.
  const touch = (event: SluiceEvent, target: Target): OpenWindow => {
    let w = working.get(target.id);
    if (w === undefined) {
      const before = known(ctx, target.id);
      if (before === undefined) created.add(target.id);
      w =
        before === undefined
          ? newWindow(event, target.spec, target.bounds, stream.aggregations)
          : copyWindow(before);
      working.set(target.id, w);
    }
    return w;
  };
  return {
    add(event, target, brokenRule) {
      const { id, bounds } = target;
      const w = touch(event, target);
      countEvent(w.state, stream.aggregations, event, brokenRule);
      // A window still provisional just takes the event; the watermark settles it as usual. A
      // window new to a minute the committed watermark had already passed is an amendment too
      // (version 1): a cached complete answer for that range does not hold it yet.
      const emitted = w.status !== 'provisional';
      const behindCommitted = committed !== null && bounds.end <= committed;
      if ((emitted || behindCommitted) && !amended.has(id)) {
        amended.add(id);
        if (emitted) w.version += 1;
        w.status = 'amended';
      }
      return id;
    },
    // Status and version were decided as events came (once per window per batch): nothing is left.
    finish() {},
  };
}
