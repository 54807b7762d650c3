// Group membership: the client joins the group and reports rebalances; this turns them into the
// port's assignment callbacks. Eager rebalancing, as librdkafka's: a rebalance revokes everything
// owned, a join assigns anew (a batch in flight for a revoked partition finishes, but its position
// is dropped with it). A rejoin that failed for good stops the client's heartbeats, so joining is
// retried until it holds.

import type { Consumer } from '@platformatic/kafka';
import type { ConsumerHandlers, TopicPartition } from '../../port.ts';
import type { Owned } from './positions.ts';
import { keyOf } from './positions.ts';

const RETRY_MS = 100;
const MAX_BACKOFF_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface MembershipHooks {
  /** The handlers the consumer runs with (none before run). */
  handlers(): ConsumerHandlers | undefined;
  /** Wakes the fetch loop: partitions were assigned. */
  wake(): void;
  stopping(): boolean;
  warn(message: string, error: unknown): void;
}

export interface Membership {
  /** Joins the group, retrying until it holds or the consumer stops. */
  join(): Promise<void>;
  /** True while this member holds an assignment of the current generation (no rebalance since). */
  stable(): boolean;
  /** A join in progress, if any. */
  readonly joining: Promise<void> | undefined;
  /** Revokes every owned partition (a rebalance, leaving, losing the group). */
  revokeAll(): void;
}

export function groupMembership(
  consumer: Consumer,
  owned: Map<string, Owned>,
  hooks: MembershipHooks,
): Membership {
  let generation: number | undefined;
  let joining: Promise<void> | undefined;
  let stable = false;

  const callHandler = (handler: ((p: readonly TopicPartition[]) => unknown) | undefined, parts: Owned[]) => {
    if (handler === undefined || parts.length === 0) return;
    const partitions = parts.map(({ topic, partition }) => ({ topic, partition }));
    void Promise.resolve()
      .then(() => handler(partitions))
      .catch((error: unknown) => hooks.warn('rebalance handler', error));
  };
  const revokeAll = () => {
    stable = false;
    const revoked = [...owned.values()];
    for (const part of revoked) part.revoked = true;
    owned.clear();
    callHandler(hooks.handlers()?.onRevoked, revoked);
  };
  const assign = (assignments: readonly { topic: string; partitions: number[] }[]) => {
    revokeAll();
    const assigned: Owned[] = [];
    for (const { topic, partitions } of assignments)
      for (const partition of partitions) {
        const part: Owned = { topic, partition, next: undefined, paused: false, revoked: false };
        owned.set(keyOf(topic, partition), part);
        assigned.push(part);
      }
    callHandler(hooks.handlers()?.onAssigned, assigned);
    stable = true;
    hooks.wake();
  };
  const join = () => {
    joining ??= (async () => {
      let backoff = RETRY_MS;
      while (!hooks.stopping()) {
        try {
          await consumer.joinGroup({});
          return;
        } catch (error) {
          hooks.warn('joining the group failed; retrying', error);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    })().finally(() => {
      joining = undefined;
    });
    return joining;
  };

  consumer.on('consumer:group:rebalance', () => revokeAll());
  consumer.on('consumer:group:leave', () => revokeAll());
  consumer.on('consumer:group:join', (payload) => {
    // The client can report one join twice (a commit that rejoins while the heartbeat does).
    if (payload.generationId !== undefined && payload.generationId === generation) return;
    generation = payload.generationId;
    assign(payload.assignments ?? []);
  });
  consumer.on('error', (error: unknown) => {
    hooks.warn('lost the group', error);
    revokeAll();
    if (!hooks.stopping()) void sleep(RETRY_MS).then(join);
  });

  return {
    join,
    stable: () => stable,
    get joining() {
      return joining;
    },
    revokeAll,
  };
}
