// The Nexmark queries sluice's model expresses, as stream definitions over the bid topic, with
// Flink's published figure for each (nexmark/nexmark README, Flink 1.13, RocksDB, exactly-once:
// events/s per core). Every query reads the same stream name (`nexmark-bid`), so one filled topic
// per grouping key serves several; the processor loads one query through SLUICE_STREAMS_MODULE
// (this file) and NEXMARK_QUERY.
//
// - q0: passthrough in the suite; here a count of all bids per 10 s tumbling window (one group).
// - q5: the windowed stage of "hot items": bids per auction over hopping 10 s windows every 2 s.
// - q7: the highest bid price per 10 s tumbling window (one group).
// - q11: bids per bidder per session, closed by 10 s without a bid.
// - q12: bids per bidder per 10 s tumbling window, on event time (the suite's is processing time).

import type { AggSpec, WindowSpec } from '@sluice/shared/streams/define';
import { count, defineStream, hopping, max, session, tumbling } from '@sluice/shared/streams/define';
import { z } from 'zod';

const id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A Nexmark bid as the generator writes it (bench/nexmark/generator.ts). */
export const bidSchema = z.object({
  auction: id,
  bidder: id,
  price: id,
  channel: z.string().min(1).max(64),
  url: z.string().max(256),
  /** Epoch ms. */
  dateTime: z.number().int().nonnegative().max(8_640_000_000_000_000),
  extra: z.string().max(1024),
});

export type GroupBy = 'all' | 'auction' | 'bidder';

export interface NexmarkQuery {
  readonly name: 'q0' | 'q5' | 'q7' | 'q11' | 'q12';
  readonly groupBy: GroupBy;
  readonly window: WindowSpec;
  readonly aggregations: readonly AggSpec[];
  /** Flink 1.13's events/s per core in the suite's published table. */
  readonly flinkPerCore: number;
}

export const QUERIES: readonly NexmarkQuery[] = [
  { name: 'q0', groupBy: 'all', window: tumbling('10s'), aggregations: [count()], flinkPerCore: 155_000 },
  {
    name: 'q5',
    groupBy: 'auction',
    window: hopping('10s', '2s'),
    aggregations: [count()],
    flinkPerCore: 22_100,
  },
  { name: 'q7', groupBy: 'all', window: tumbling('10s'), aggregations: [max('price')], flinkPerCore: 12_300 },
  { name: 'q11', groupBy: 'bidder', window: session('10s'), aggregations: [count()], flinkPerCore: 39_700 },
  { name: 'q12', groupBy: 'bidder', window: tumbling('10s'), aggregations: [count()], flinkPerCore: 75_700 },
];

export const BID_STREAM = 'nexmark-bid';

/** The bid stream as one query declares it. */
export function bidStream(query: NexmarkQuery) {
  return defineStream({
    name: BID_STREAM,
    description: `Nexmark bids, ${query.name}`,
    partitions: 6,
    schema: bidSchema,
    eventTime: 'dateTime',
    keyBy: query.groupBy === 'all' ? [] : [query.groupBy],
    windows: [query.window],
    aggregations: query.aggregations,
    // The generator writes event times in order; the watermark trails by a second all the same.
    watermark: '1s',
    allowedLateness: '10s',
  });
}

const chosen = QUERIES.find((q) => q.name === process.env.NEXMARK_QUERY);
export const STREAMS = chosen === undefined ? [] : [bidStream(chosen)];
