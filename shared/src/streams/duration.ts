// Durations in stream definitions are written the way users of Flink SQL and Kafka Streams write
// them (`30s`, `1m`, `48h`) and checked by the type system; they are milliseconds at run time.

export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';
export type Duration = `${number}${DurationUnit}`;

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(duration: Duration): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
  const unit = match?.[2] as DurationUnit | undefined;
  if (match === null || unit === undefined) throw new Error(`invalid duration '${duration}'`);
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}
