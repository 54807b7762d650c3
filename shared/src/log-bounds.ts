// Bounds on what a log line may hold, for every service's logger (pino in Node and Bun services,
// plain JSON lines on the edge): no string past MAX_LOG_STRING characters, no object walked past
// MAX_DEPTH or MAX_ENTRIES. A client can send a 100 KB header; its log line stays small. Web APIs only.

/** Characters kept of any one string in a log line. */
export const MAX_LOG_STRING = 1_024;
/** Nesting walked when bounding a line's fields; deeper values are replaced by a marker. */
const MAX_DEPTH = 4;
/** Keys or elements kept per object or array of a line's fields. */
const MAX_ENTRIES = 50;

/** A string cut to the bound, saying how much was cut. */
export function boundString(value: string): string {
  return value.length <= MAX_LOG_STRING
    ? value
    : `${value.slice(0, MAX_LOG_STRING)}…[${value.length - MAX_LOG_STRING} more chars]`;
}

/** A copy of a line's fields with every string, object and array bounded. */
export function boundFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return boundString(value);
  if (typeof value !== 'object' || value === null) return value;
  // Errors (and other class instances) go through their serializer, which bounds them.
  if (value instanceof Error) return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.slice(0, MAX_ENTRIES).map((item) => boundFields(item, depth + 1));
  const bounded: Record<string, unknown> = {};
  let kept = 0;
  for (const [key, item] of Object.entries(value)) {
    if (kept === MAX_ENTRIES) break;
    bounded[boundString(key)] = boundFields(item, depth + 1);
    kept += 1;
  }
  return bounded;
}
