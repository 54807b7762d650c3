// ./sluice send FILE.ndjson [--to edge|ingest]: sends an NDJSON file in chunks of 1,000 lines and
// prints the per-event verdicts that were not acceptances.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { authHeader } from './auth-header.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8787' },
    chunk: { type: 'string', default: '1000' },
  },
});
const file = positionals[0];
if (file === undefined) {
  console.error('usage: send.ts FILE.ndjson [--url URL]');
  process.exit(2);
}
const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '');
const chunk = Number(values.chunk);
const endpoint = new URL('/v1/events', values.url).toString();
let accepted = 0;
let rejected = 0;
for (let i = 0; i < lines.length; i += chunk) {
  const body = `${lines.slice(i, i + chunk).join('\n')}\n`;
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { ...authHeader(), 'content-type': 'application/x-ndjson' },
    body,
  });
  const result = (await response.json()) as {
    accepted?: number;
    rejected?: { index: number }[];
    error?: unknown;
  };
  if (response.status !== 202 && response.status !== 400) {
    console.error(`lines ${i + 1}-${i + chunk}: HTTP ${response.status} ${JSON.stringify(result)}`);
    process.exitCode = 1;
    continue;
  }
  accepted += result.accepted ?? 0;
  for (const r of result.rejected ?? []) console.error(`line ${i + r.index + 1}: ${JSON.stringify(r)}`);
  rejected += result.rejected?.length ?? 0;
  if (response.status === 400) {
    console.error(`lines ${i + 1}-${i + chunk}: ${JSON.stringify(result)}`);
    rejected += lines.slice(i, i + chunk).length;
  }
}
console.log(JSON.stringify({ lines: lines.length, accepted, rejected }));
