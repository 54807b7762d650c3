// Sends ecommerce transactions to an ingest service as one JSON array and requires the 202 that
// says Kafka acknowledged all of them (guarantee 1), for the integration tests.

import assert from 'node:assert/strict';
import type { Transaction } from '../../tools/ecommerce-data.ts';
import { envelope } from '../../tools/ecommerce-data.ts';

export async function postTransactions(ingestUrl: string, batch: readonly Transaction[]): Promise<void> {
  const response = await fetch(`${ingestUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(batch.map(envelope)),
  });
  assert.equal(response.status, 202, await response.text());
}
