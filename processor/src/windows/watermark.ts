// Guarantee 3, the decision for one event and one of its windows: on time while the watermark has
// not passed the window's end; an amendment while it has, but by no more than the allowed lateness;
// late (to `<stream>.late`) beyond that.

export type Lateness = 'on-time' | 'amend' | 'late';

export function latenessOf(windowEnd: number, watermark: number | null, allowedLatenessMs: number): Lateness {
  if (watermark === null || windowEnd > watermark) return 'on-time';
  return windowEnd + allowedLatenessMs > watermark ? 'amend' : 'late';
}
