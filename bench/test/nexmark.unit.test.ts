// The Nexmark bench's own parts: its generator keeps the suite's proportions, hot shares and event
// times (so the figures compare with Flink's), and the rows it expects are computed right for each
// window kind (so "exact" means exact). Pure units: no stack.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hopping, session, tumbling } from '@sluice/shared/streams/define';
import type { BidColumns } from '../nexmark/expected.ts';
import { differences, expectedRows, rowId } from '../nexmark/expected.ts';
import type { Bid } from '../nexmark/generator.ts';
import { kindOf, lastBase0AuctionId, lastBase0PersonId, nexmarkGenerator } from '../nexmark/generator.ts';
import type { NexmarkQuery } from '../nexmark/queries.ts';
import { bidSchema, QUERIES } from '../nexmark/queries.ts';

test('events come 1 person, 3 auctions, 46 bids in every 50, with ids numbered as they are created', () => {
  const kinds = Array.from({ length: 100 }, (_, n) => kindOf(n));
  assert.equal(kinds.filter((k) => k === 'person').length, 2);
  assert.equal(kinds.filter((k) => k === 'auction').length, 6);
  assert.equal(kinds.filter((k) => k === 'bid').length, 92);
  assert.deepEqual(kinds.slice(0, 5), ['person', 'auction', 'auction', 'auction', 'bid']);
  // Event 50 makes person 1; events 51..53 auctions 3..5; a bid refers back to the last of them.
  assert.equal(lastBase0PersonId(50), 1);
  assert.equal(lastBase0AuctionId(53), 5);
  assert.equal(lastBase0AuctionId(99), 5);
  assert.equal(lastBase0AuctionId(100), 5);
});

test('bids follow the suite: hot auctions and bidders, prices, event time at the configured rate', () => {
  const next = nexmarkGenerator({ rate: 1000, baseTime: 1_000_000, seed: 1 });
  const bids: Bid[] = [];
  for (let n = 0; n < 50_000; n++) {
    const event = next(n);
    if (event.kind === 'bid') {
      bids.push(event.bid);
      // Event n at baseTime + n / rate.
      assert.equal(event.bid.dateTime, 1_000_000 + n);
      assert.ok(bidSchema.safeParse(event.bid).success);
    }
  }
  const share = (pick: (b: Bid) => boolean) => bids.filter(pick).length / bids.length;
  // Half the bids on the first auction of the latest batch of 100 (hotAuctionRatio 2), three
  // quarters by the second person of the latest batch of 100 (hotBiddersRatio 4); the cold picks
  // land on such an id now and then too, hence the ranges.
  const hotAuction = (b: Bid) => (b.auction - 1000) % 100 === 0;
  const hotBidder = (b: Bid) => (b.bidder - 1000) % 100 === 1;
  assert.ok(share(hotAuction) > 0.48 && share(hotAuction) < 0.56, `hot auctions ${share(hotAuction)}`);
  assert.ok(share(hotBidder) > 0.73 && share(hotBidder) < 0.78, `hot bidders ${share(hotBidder)}`);
  assert.ok(bids.every((b) => b.price >= 100 && b.price <= 100_000_000));
  // Prices are 10^(6u) * 100: their log is uniform, so half lie below 10^3 * 100.
  assert.ok(Math.abs(share((b) => b.price < 100_000) - 0.5) < 0.02);
  assert.ok(share((b) => ['Google', 'Facebook', 'Baidu', 'Apple'].includes(b.channel)) > 0.98);
  const sizes = bids.map((b) => b.extra.length);
  assert.ok(Math.min(...sizes) >= 54 && Math.max(...sizes) <= 82, 'extra pads a bid to ~100 bytes');
  // Seeded: the same seed makes the same events.
  const replay = nexmarkGenerator({ rate: 1000, baseTime: 1_000_000, seed: 1 });
  const again = Array.from({ length: 5 }, (_, n) => replay(n)).at(-1);
  assert.deepEqual(again, { kind: 'bid', bid: bids[0] });
});

const columns = (
  rows: readonly [auction: number, bidder: number, price: number, time: number][],
): BidColumns => ({
  auction: Float64Array.from(rows, (r) => r[0]),
  bidder: Float64Array.from(rows, (r) => r[1]),
  price: Float64Array.from(rows, (r) => r[2]),
  time: Float64Array.from(rows, (r) => r[3]),
  length: rows.length,
});

const query = (over: Partial<NexmarkQuery>): NexmarkQuery => ({ ...(QUERIES[0] as NexmarkQuery), ...over });

test('expected rows: tumbling counts and maxima per window, hopping windows on every slide', () => {
  const bids = columns([
    [1, 7, 500, 0],
    [1, 7, 900, 9_999],
    [2, 8, 300, 10_000],
  ]);
  const q0 = expectedRows(query({ groupBy: 'all', window: tumbling('10s') }), bids);
  assert.deepEqual(
    q0,
    new Map([
      [rowId('[]', 0, 10_000), 2],
      [rowId('[]', 10_000, 20_000), 1],
    ]),
  );
  const q7 = expectedRows(QUERIES.find((q) => q.name === 'q7') as NexmarkQuery, bids);
  assert.equal(q7.get(rowId('[]', 0, 10_000)), 900);
  // 10 s windows every 2 s: t = 10,000 lies in the five starting at 2,000 .. 10,000, not at 0.
  const q5 = expectedRows(query({ groupBy: 'auction', window: hopping('10s', '2s') }), bids);
  assert.equal([...q5.keys()].filter((id) => id.startsWith('2 ')).length, 5);
  assert.equal(q5.get(rowId('2', 0, 10_000)), undefined);
  assert.equal(q5.get(rowId('2', 10_000, 20_000)), 1);
  assert.equal(q5.get(rowId('1', 0, 10_000)), 2);
  assert.equal(
    [...q5.values()].reduce((a, b) => a + b, 0),
    15,
  );
});

test('expected rows: sessions per key close after the gap, bounds inclusive', () => {
  const bids = columns([
    [1, 7, 1, 20_000], // out of order: sorted per key
    [1, 7, 1, 0],
    [1, 7, 1, 10_000], // exactly one gap after: the same session
    [1, 7, 1, 40_001], // more than a gap after the last: a new one
    [1, 8, 1, 5],
  ]);
  const rows = expectedRows(query({ groupBy: 'bidder', window: session('10s') }), bids);
  assert.deepEqual(
    rows,
    new Map([
      [rowId('7', 0, 30_000), 3],
      [rowId('7', 40_001, 50_001), 1],
      [rowId('8', 5, 10_005), 1],
    ]),
  );
});

test('differences name missing, wrong and unexpected rows', () => {
  const want = new Map([
    ['a 0 1', 2],
    ['b 0 1', 1],
  ]);
  assert.deepEqual(differences(want, new Map(want)), []);
  assert.deepEqual(
    differences(
      want,
      new Map([
        ['a 0 1', 3],
        ['c 0 1', 1],
      ]),
    ),
    ['a 0 1: expected 2, got 3', 'b 0 1: expected 1, got no row', 'c 0 1: unexpected row with 1'],
  );
});
