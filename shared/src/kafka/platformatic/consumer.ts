// The Kafka port's consumer on @platformatic/kafka, a client written in TypeScript: it runs on Bun
// (which cannot load librdkafka's addon) as well as Node, at a fraction of the addon's CPU per
// record. The client does group membership, offsets and raw fetches; the adapter keeps every
// partition's position itself (consumer/fetching.ts says why), so the port's contract holds: a
// partition's batches are contiguous from where it resumed, a batch whose handler threw is fetched
// again from its first record, and a paused partition is not fetched. The parts:
//   consumer/membership.ts  joining the group, assignments and revokes (eager, as librdkafka's)
//   consumer/positions.ts   where each owned partition reads next, and its known end offset
//   consumer/fetching.ts    one fetch per leader for the partitions ready to read
//   consumer/delivery.ts    batches to the handler, in order per partition, partitions side by side

import { Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import { withinMs } from '../../deadline.ts';
import type { ConsumerOptions } from '../options.ts';
import { errorMessage } from '../options.ts';
import type { CommitOffset, ConsumerHandlers, KafkaConsumer } from '../port.ts';
import { platformaticSecurity } from '../security.ts';
import { deliver, inLanes } from './consumer/delivery.ts';
import type { Fetched } from './consumer/fetching.ts';
import { fetchOnce } from './consumer/fetching.ts';
import { groupMembership } from './consumer/membership.ts';
import type { Owned } from './consumer/positions.ts';
import { EndOffsets, keyOf, resolvePositions } from './consumer/positions.ts';

/** How long the loop sleeps with nothing to fetch, or after a failed fetch (doubling to 2 s). */
const IDLE_MS = 100;
const MAX_BACKOFF_MS = 2_000;
const COMMIT_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 15_000;

export async function createPlatformaticConsumer(options: ConsumerOptions): Promise<KafkaConsumer> {
  const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
  const consumer = new Consumer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    ...platformaticSecurity(options.security),
    groupId: options.groupId,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 4)),
    rebalanceTimeout: Math.max(30_000, sessionTimeout),
    // The classic protocol's round robin, which librdkafka also offers: a fleet may mix adapters.
    protocols: [{ name: 'roundrobin', version: 1 }],
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  consumer.topics.trackAll(...options.topics);

  let handlers: ConsumerHandlers | undefined;
  const owned = new Map<string, Owned>();
  /** Offsets to commit once the group is stable (the newest per partition). */
  const deferred = new Map<string, CommitOffset>();
  const ends = new EndOffsets();
  let stopping = false;
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let wake: () => void = () => {};
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const warn = (message: string, error: unknown) =>
    options.log?.('warn', `kafka consumer: ${message}: ${errorMessage(error)}`, {});
  const membership = groupMembership(consumer, owned, {
    handlers: () => handlers,
    wake: () => wake(),
    stopping: () => stopping,
    warn,
  });
  const fetching = { consumer, topics: options.topics, owned, ends, log: options.log };

  const run = async (given: ConsumerHandlers) => {
    let backoff = IDLE_MS;
    while (!stopping) {
      const parts = [...owned.values()];
      const unresolved = parts.filter((part) => part.next === undefined);
      if (unresolved.length > 0) {
        try {
          await resolvePositions(consumer, unresolved);
        } catch (error) {
          warn('reading committed offsets failed; retrying', error);
          await nap(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          continue;
        }
      }
      const ready = parts.filter((part) => !part.paused && !part.revoked && part.next !== undefined);
      if (ready.length === 0) {
        await nap(IDLE_MS);
        continue;
      }
      let fetched: Fetched[];
      try {
        fetched = await fetchOnce(fetching, ready);
        backoff = IDLE_MS;
      } catch (error) {
        if (stopping) break;
        warn('fetch failed; retrying', error);
        await nap(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      // Partitions run side by side (up to the concurrency); one partition's batches stay in order
      // and the next fetch waits for all of them, so a partition never has two batches in hand.
      await inLanes(fetched, options.concurrency, (one) => deliver(given, one, options.maxBatchSize));
    }
  };

  return {
    async run(given: ConsumerHandlers) {
      handlers = given;
      // Joining goes on in the background (a broker away at start is retried); the loop fetches
      // once the group assigned partitions.
      void membership.join();
      loop = run(given);
    },
    async commit(offsets: readonly CommitOffset[]) {
      // Offsets wait while the group rebalances and go with the next commit once it is stable, for
      // the partitions this member still owns. A commit sent mid-rebalance is answered with a
      // rebalance error, on which the client rejoins by itself, beside the heartbeat's own rejoin:
      // seen on the three-broker cluster as a rebalance storm (the group never left
      // PreparingRebalance, every partition reclaimed each second, one worker's partitions never
      // fetched again). The positions that count are in Redis and PostgreSQL; this one is for lag
      // and tools, so deferring it loses nothing.
      for (const offset of offsets) deferred.set(keyOf(offset.topic, offset.partition), offset);
      if (!membership.stable() || membership.joining !== undefined) return;
      const request = [...deferred.values()]
        .filter(({ topic, partition }) => owned.has(keyOf(topic, partition)))
        .map(({ topic, partition, offset }) => ({ topic, partition, offset, leaderEpoch: -1 }));
      deferred.clear();
      if (request.length === 0) return;
      await withinMs(consumer.commit({ offsets: request }), COMMIT_TIMEOUT_MS, 'kafka commit');
    },
    assignment: () => [...owned.values()].map(({ topic, partition }) => ({ topic, partition })),
    highWatermark: (topic, partition) => ends.known(topic, partition, Date.now()),
    pause(partitions) {
      for (const { topic, partition } of partitions) {
        const part = owned.get(keyOf(topic, partition));
        if (part !== undefined) part.paused = true;
      }
    },
    resume(partitions) {
      for (const { topic, partition } of partitions) {
        const part = owned.get(keyOf(topic, partition));
        if (part !== undefined) part.paused = false;
      }
      wake();
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        wake();
        await loop;
        await membership.joining;
        // Leaving the group is the last revoke, as librdkafka's close makes it.
        membership.revokeAll();
        await withinMs(consumer.close(), CLOSE_TIMEOUT_MS, 'kafka consumer close');
      })();
      return closing;
    },
  };
}
