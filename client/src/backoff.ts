// When to try a request again: capped exponential backoff with full jitter, never sooner than the
// server's Retry-After (STYLE #4). Web APIs only.

export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
  readonly random?: () => number;
}

/**
 * Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or
 * unreadable (then the backoff alone decides).
 */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffMs(retry: number, options: BackoffOptions, serverMs?: number): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** (retry - 1));
  const jittered = (options.random ?? Math.random)() * ceiling;
  // Honoured whatever the cap: a server that asks for 3 s is not asked again after 1 s.
  return Math.max(jittered, serverMs ?? 0);
}
