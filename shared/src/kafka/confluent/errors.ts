// librdkafka's errors as the port's: a produce failure is `unavailable` and retryable (503), never
// success; a fatal error means this client instance can never produce again (renewing-producer.ts).

import type { AppError } from '../../result.ts';
import { appError } from '../../result.ts';
import { errorMessage } from '../options.ts';

// librdkafka error codes that mean "Kafka is slow or away", i.e. retry later (503), not "bad input".
const ERR_QUEUE_FULL = -184;
const ERR_MSG_TIMED_OUT = -192;
// A fatal error: this client instance can never produce again (see renewing-producer.ts).
const ERR_FATAL = -150;

export function isFatal(error: unknown): boolean {
  if (errorCode(error) === ERR_FATAL) return true;
  return typeof error === 'object' && error !== null && 'isFatal' in error && error.isFatal === true;
}

// Both the KafkaJS-style errors and librdkafka's own (delivery reports) carry a numeric code.
export function errorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}

export function kafkaError(error: unknown, what: string): AppError {
  const code = errorCode(error);
  const message = errorMessage(error);
  const queueFull = code === ERR_QUEUE_FULL;
  return appError('unavailable', queueFull ? `${what}: producer queue is full` : `${what}: ${message}`, {
    // INVARIANT: a produce failure is never reported as success; the client retries the request.
    retryable: true,
    retryAfterSeconds: queueFull ? 1 : 2,
    cause: { code, timedOut: code === ERR_MSG_TIMED_OUT },
  });
}
