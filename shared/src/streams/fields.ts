// Payload field schemas that stream definitions share.

import { z } from 'zod';

/** An event-time field as clients send it: RFC 3339 with an offset, or epoch milliseconds. */
export const eventTimeField = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]);

/** A client-chosen identifier (an event id, a store, a machine). */
export const idField = z.string().min(1).max(128);
