// Session windows: an event at `time` opens the window [time, time + gap]; windows of one key that
// touch merge into one session [first event, last event + gap]. Touching counts (bounds inclusive),
// as in Flink's TimeWindow.intersects and Kafka Streams' inactivity gap: two events exactly one
// gap apart are one session.

export interface SessionBounds {
  readonly start: number;
  readonly end: number;
}

/** Whether an event at `time` belongs with `session` (its own window touches the session's). */
export function joins(session: SessionBounds, time: number, gapMs: number): boolean {
  return session.start <= time + gapMs && time <= session.end;
}

/** The one session an event at `time` makes of itself and the sessions it joins. */
export function mergedBounds(time: number, gapMs: number, joined: readonly SessionBounds[]): SessionBounds {
  let start = time;
  let end = time + gapMs;
  for (const s of joined) {
    start = Math.min(start, s.start);
    end = Math.max(end, s.end);
  }
  return { start, end };
}
