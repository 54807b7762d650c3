// Payload field schemas that stream definitions share.

import { z } from 'zod';
import { MAX_DATE_MS, NAIVE_TIME } from '../events/event-time.ts';

/**
 * An event-time field as clients send it: RFC 3339 with an offset, a date-time without a zone, or
 * epoch milliseconds a date can hold. Which of these a stream accepts, in which zone, and in what
 * range, is its `timeFormats`, `naiveTimeZone` and `maxFutureSkew` (shared/src/events/event-time.ts).
 */
export const eventTimeField = z.union([
  z.iso.datetime({ offset: true }),
  z.string().regex(NAIVE_TIME, { error: 'expected a date and time' }),
  z.number().int().nonnegative().max(MAX_DATE_MS),
]);

/** A client-chosen identifier (an event id, a store, a machine). */
export const idField = z.string().min(1).max(128);
