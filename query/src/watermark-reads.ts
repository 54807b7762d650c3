// Watermark reads shared while one is under way: every cache miss reads its stream's watermark
// from PostgreSQL before its rows (read-range.ts), and at a few hundred misses a second most of
// those reads asked the same row at the same moment (issue 27: a round trip and ~0.4 ms of
// PostgreSQL's CPU each, in bench query's mix). A read asked while another of the same group and
// topic is in flight gets that one's answer.
//
// INVARIANT (guarantee 3): a shared answer was read before the joining miss reads its rows, as its
// own read would have been; the miss is answered as one that came in when that read began and
// then waited. Rows committed with any watermark up to it are in its row read all the same, since
// that read starts later. Nothing is kept once the read lands: the next miss reads again.
// Bounded (guarantee 5): an entry per (group, topic) in flight, and both come from configuration
// and the stream registry, never from a request.

import type { WindowsRepo } from './windows-repo.ts';

export function withSharedWatermarkReads(repo: WindowsRepo): WindowsRepo {
  const inFlight = new Map<string, Promise<number | null>>();
  return {
    ...repo,
    watermark(group, topic) {
      const key = JSON.stringify([group, topic]);
      const flying = inFlight.get(key);
      if (flying !== undefined) return flying;
      const read = repo.watermark(group, topic);
      inFlight.set(key, read);
      const landed = () => {
        inFlight.delete(key);
      };
      read.then(landed, landed);
      return read;
    },
  };
}
