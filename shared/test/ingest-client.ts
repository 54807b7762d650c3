// Sends events to an ingest service as one JSON array and requires the 202 that says Kafka
// acknowledged every accepted one (guarantee 1), for the integration tests.

import assert from 'node:assert/strict';
import type { Transaction } from '../../tools/ecommerce-data.ts';
import { envelope } from '../../tools/ecommerce-data.ts';

export interface IntakeAnswer {
  readonly accepted: number;
  readonly rejected: readonly { index: number; errors: unknown[] }[];
}

export async function postEvents(
  ingestUrl: string,
  events: readonly { stream: string; data: object }[],
): Promise<IntakeAnswer> {
  const response = await fetch(`${ingestUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
    // A request ingest never answers fails here, with a message, instead of stalling a test.
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  assert.equal(response.status, 202, text);
  return JSON.parse(text) as IntakeAnswer;
}

export async function postTransactions(ingestUrl: string, batch: readonly Transaction[]): Promise<void> {
  const answer = await postEvents(ingestUrl, batch.map(envelope));
  assert.equal(answer.rejected.length, 0, JSON.stringify(answer.rejected));
}
