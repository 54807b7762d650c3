// Retry only what is marked retryable (STYLE #4), with capped exponential backoff and full
// jitter, honouring a server's Retry-After when it gives one. Web APIs only.

import type { AppError, Result } from './result.ts';

export interface RetryOptions {
  readonly retries: number;
  readonly baseMs: number;
  readonly capMs: number;
  /** Stop retrying once this wall-clock deadline (epoch ms) would be passed. */
  readonly deadline?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backoffMs(attempt: number, options: RetryOptions, error: AppError): number {
  const jittered = (options.random ?? Math.random)() * Math.min(options.capMs, options.baseMs * 2 ** attempt);
  const server = error.retryAfterSeconds === undefined ? 0 : error.retryAfterSeconds * 1000;
  return Math.max(jittered, Math.min(server, options.capMs));
}

export async function withRetry<T>(
  call: () => Promise<Result<T, AppError>>,
  options: RetryOptions,
): Promise<Result<T, AppError>> {
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt += 1) {
    const result = await call();
    if (result.ok || !result.error.retryable || attempt >= options.retries) return result;
    const wait = backoffMs(attempt, options, result.error);
    if (options.deadline !== undefined && Date.now() + wait > options.deadline) return result;
    await sleep(wait);
  }
}
