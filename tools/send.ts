// ./sluice send FILE.ndjson [--to edge|ingest]: sends an NDJSON file through @sluice/client
// (batched, gzip, retried with the same ids) and prints the per-event verdicts that were not
// acceptances, by line number. Exit 1 when any event's request failed (not sent for sure).

import { readFile } from 'node:fs/promises';
import type { EventInput, EventVerdict, Sent } from '@sluice/client';
import { createEvents } from '@sluice/client';
import { STREAMS } from '@sluice/shared/streams/registry';
import { parseCliArgs } from './cli-args.ts';

const { values, positionals } = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8787' },
      batch: { type: 'string', default: '1000' },
    },
  },
  'send.ts FILE.ndjson [--url URL] [--batch EVENTS]',
);
const file = positionals[0];
if (file === undefined) {
  console.error('usage: send.ts FILE.ndjson [--url URL] [--batch EVENTS]');
  process.exit(2);
}

/** Each stream's id field: a line without an id gets its value, as the intake itself would. */
const ID_FIELDS = new Map(STREAMS.map((s) => [s.name, s.idField]));

/**
 * The id the intake would give a line without one (its stream's id field), fixed here once so
 * a retry carries it; a fresh UUID when the stream has none. Sending the same file twice then
 * dedups by the same ids as before the client.
 */
function idFor(event: EventInput): string {
  const stream = 'stream' in event ? event.stream : event.type;
  const field = ID_FIELDS.get(stream);
  const data = event.data;
  if (field !== undefined && typeof data === 'object' && data !== null && field in data) {
    const value = (data as Record<string, unknown>)[field];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return crypto.randomUUID();
}

/** A line as an event, or why it is not one (refused here: the intake would refuse it too). */
function eventOf(line: string): EventInput | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'line is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'line is not a JSON object';
  // The intake judges every field; this only picks the shape the client sends.
  if ('specversion' in value || ('stream' in value && typeof value.stream === 'string'))
    return value as EventInput;
  return 'line has no stream (nor a CloudEvents specversion)';
}

const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '');
const sender = createEvents({
  url: values.url,
  maxBatchEvents: Number(values.batch),
  newId: idFor,
  ...(process.env.SLUICE_API_KEY ? { apiKey: process.env.SLUICE_API_KEY } : {}),
});
const sent: { line: number; sent: Sent }[] = [];
let refusedHere = 0;
for (const [i, line] of lines.entries()) {
  const event = eventOf(line);
  if (typeof event === 'string') {
    console.error(
      `line ${i + 1}: ${JSON.stringify({ status: 'refused', errors: [{ path: '(event)', message: event }] })}`,
    );
    refusedHere += 1;
    continue;
  }
  sent.push({ line: i + 1, sent: await sender.send(event) });
}
await sender.close();
const counts: Record<EventVerdict['status'], number> = { accepted: 0, refused: refusedHere, failed: 0 };
for (const { line, sent: one } of sent) {
  const verdict = await one.verdict;
  counts[verdict.status] += 1;
  if (verdict.status !== 'accepted') console.error(`line ${line}: ${JSON.stringify(verdict)}`);
}
if (counts.failed > 0) process.exitCode = 1;
console.log(
  JSON.stringify({
    lines: lines.length,
    accepted: counts.accepted,
    rejected: counts.refused,
    failed: counts.failed,
  }),
);
