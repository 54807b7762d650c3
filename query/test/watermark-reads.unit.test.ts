// Shared watermark reads (watermark-reads.ts; guarantee 3): a read asked while one of the same
// group and topic is under way gets that one's answer, never one older than its own arrival
// (nothing is kept once a read lands), and a failed read fails its joiners and is not kept.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withSharedWatermarkReads } from '../src/watermark-reads.ts';
import type { WindowsRepo } from '../src/windows-repo.ts';

/** A repo whose watermark reads wait for the test to answer them, one by one. */
function heldRepo() {
  const pending: { topic: string; answer: (value: number | null) => void; fail: (e: Error) => void }[] = [];
  const repo: WindowsRepo = {
    watermark: (_group, topic) =>
      new Promise<number | null>((answer, fail) => {
        pending.push({ topic, answer, fail });
      }),
    windows: async () => [],
    partitions: async () => [],
  };
  return { repo, pending };
}

test('reads asked while one is under way share it; the next read after it lands reads again', async () => {
  const { repo, pending } = heldRepo();
  const shared = withSharedWatermarkReads(repo);
  const first = shared.watermark('g', 't');
  const second = shared.watermark('g', 't');
  const otherTopic = shared.watermark('g', 'u');
  assert.deepEqual(
    pending.map((p) => p.topic),
    ['t', 'u'],
  );
  pending[0]?.answer(100);
  pending[1]?.answer(7);
  assert.deepEqual(await Promise.all([first, second, otherTopic]), [100, 100, 7]);
  // Landed: a later read is its own, and sees the newer watermark.
  const later = shared.watermark('g', 't');
  assert.equal(pending.length, 3);
  pending[2]?.answer(200);
  assert.equal(await later, 200);
});

test('a failed read fails the reads that joined it, and the next read tries again', async () => {
  const { repo, pending } = heldRepo();
  const shared = withSharedWatermarkReads(repo);
  const first = shared.watermark('g', 't');
  const joined = shared.watermark('g', 't');
  pending[0]?.fail(new Error('database away'));
  await assert.rejects(first, /database away/);
  await assert.rejects(joined, /database away/);
  const again = shared.watermark('g', 't');
  assert.equal(pending.length, 2);
  pending[1]?.answer(null);
  assert.equal(await again, null);
});
