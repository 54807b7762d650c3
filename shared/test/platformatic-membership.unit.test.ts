// The platformatic adapter's group membership (shared/src/kafka/platformatic/consumer/membership.ts)
// driven by the client's own events: a member is stable only between an assignment and the next
// rebalance, leave or error, which is when the adapter lets a Kafka offset commit go (a commit sent
// mid-rebalance made the client rejoin beside its heartbeat: a rebalance storm on the cluster).

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Consumer } from '@platformatic/kafka';
import { groupMembership } from '../src/kafka/platformatic/consumer/membership.ts';
import type { Owned } from '../src/kafka/platformatic/consumer/positions.ts';

function fakeClient(): { client: Consumer; events: EventEmitter } {
  const events = new EventEmitter();
  // Only what membership.ts calls: on() for the events, joinGroup() to join.
  const client = Object.assign(events, { joinGroup: async () => {} });
  return { client: client as unknown as Consumer, events };
}

test('stable from an assignment until the next rebalance, leave or error', async () => {
  const { client, events } = fakeClient();
  const owned = new Map<string, Owned>();
  const revoked: number[] = [];
  const membership = groupMembership(client, owned, {
    handlers: () => ({
      onBatch: async () => {},
      onRevoked: (p) => {
        revoked.push(p.length);
      },
    }),
    wake: () => {},
    stopping: () => false,
    warn: () => {},
  });
  assert.equal(membership.stable(), false, 'not before the first assignment');
  events.emit('consumer:group:join', { generationId: 1, assignments: [{ topic: 't', partitions: [0, 1] }] });
  assert.equal(membership.stable(), true);
  assert.equal(owned.size, 2);
  events.emit('consumer:group:rebalance', {});
  assert.equal(membership.stable(), false, 'a rebalance began');
  assert.equal(owned.size, 0, 'eager: everything revoked');
  events.emit('consumer:group:join', { generationId: 2, assignments: [{ topic: 't', partitions: [1] }] });
  assert.equal(membership.stable(), true);
  // The same generation reported twice does not assign (or revoke) again.
  events.emit('consumer:group:join', { generationId: 2, assignments: [{ topic: 't', partitions: [1] }] });
  assert.equal(owned.size, 1);
  events.emit('consumer:group:leave', {});
  assert.equal(membership.stable(), false, 'left the group');
  events.emit('consumer:group:join', { generationId: 3, assignments: [] });
  assert.equal(membership.stable(), true);
  events.emit('error', new Error('lost'));
  assert.equal(membership.stable(), false, 'lost the group');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(revoked, [2, 1]);
});
